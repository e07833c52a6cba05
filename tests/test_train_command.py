"""`python -m gmlib.train`: trains a bench entry, writes its checkpoint and test metrics."""

from __future__ import annotations

import json

import pytest
import torch

from gmlib.autoregressive import FVSBN
from gmlib.bench import run_entry
from gmlib.train import load_checkpoint
from gmlib.train.__main__ import main, parse_args


@pytest.mark.slow
def test_trains_an_entry_on_the_digits_and_writes_checkpoint_and_metrics(tmp_path, capsys):
    assert main(["fvsbn", "--data", "digits", "--device", "cpu", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "fvsbn" / "metrics.json").read_text())
    # the entry's own budget, so the bench's own row: the same test NLL
    assert metrics["test_nll"] == pytest.approx(run_entry("fvsbn").test_nll, rel=1e-9)
    assert metrics["settings"] == {"model": "fvsbn", "data": "digits", "levels": 2,
                                   "image_shape": [1, 8, 8], "epochs": None,
                                   "batch_size": None, "seed": 0, "amp": False,
                                   "processes": 1}
    model = FVSBN((1, 8, 8))
    checkpoint = load_checkpoint(tmp_path / "fvsbn" / "checkpoint.pt", model)
    assert checkpoint["extra"]["metrics"]["test_nll"] == metrics["test_nll"]
    assert torch.isfinite(model.log_prob(torch.zeros(1, 1, 8, 8))).all()
    assert "fvsbn: test NLL" in capsys.readouterr().out


@pytest.mark.slow
def test_epochs_and_batch_size_override_the_entry(tmp_path):
    assert main(["nade", "--epochs", "1", "--batch-size", "500", "--device", "cpu",
                 "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "nade" / "metrics.json").read_text())
    assert metrics["settings"]["epochs"] == 1
    assert metrics["test_nll"] > run_entry("nade").test_nll  # one epoch is not enough


@pytest.mark.parametrize(("argv", "message"), [
    (["no-such-model"], "unknown model 'no-such-model'; known: "),
    (["fvsbn", "--data", "cifar"], "data must be 'digits' or 'idx:FOLDER'"),
    (["fvsbn", "--data", "idx:/nonexistent"], "train-images-idx3-ubyte"),
    (["pixelcnn", "--levels", "5"], "requantising them is not supported"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_non_positive_epochs_are_refused():
    with pytest.raises(SystemExit):
        parse_args(["fvsbn", "--epochs", "0"])


def test_unusable_inputs_are_one_line_errors_before_training(tmp_path, capsys):
    """An output path that is a file, and corrupt data files, exit 2 with one line."""
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as stop:
        parse_args(["fvsbn", "--out", str(tmp_path / "a_file")])
    assert stop.value.code == 2
    assert "is a file; the run writes a folder there" in capsys.readouterr().err
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (folder / name).write_bytes(bytes(range(256)) * 3)  # not IDX: the magic is wrong
    assert main(["fvsbn", "--data", f"idx:{folder}", "--device", "cpu",
                 "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "IDX" in err
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written
