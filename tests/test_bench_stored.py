"""Stored bench models (gmlib.bench.stored): the committed files are the leaderboard's models,
and misuse (another entry's file, a corrupted or stale file) is reported."""

import shutil
from pathlib import Path

import pytest
import torch

from gmlib.bench import get_entry, load_results
from gmlib.bench.__main__ import main
from gmlib.bench.core import context, evaluate_entry
from gmlib.bench.stored import (
    STORED_ENTRIES,
    load_model,
    load_study_model,
    model_path,
    save_model,
    stored_names,
    study_model_path,
)
from gmlib.bench.studies import load_studies, studies
from gmlib.train import save_checkpoint
from gmlib.utils import seed_everything

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
STORED = stored_names(BENCH)
STUDY_RUNS = [(name, arm) for name, study in studies().items() if study.build is not None
              for arm in study.arms]


def test_the_lectures_stored_models_are_committed():
    # the models lectures 08-14 load instead of training them for minutes, and no others
    assert set(STORED) == set(STORED_ENTRIES), "python -m gmlib.bench NAME --write --save-models"
    assert all(get_entry(name).build is not None for name in STORED_ENTRIES)


# metrics of freshly drawn samples: they depend on the random state the run left after
# training, which a re-score cannot recreate, so a re-score is compared on the others (the
# digit classifier itself is the same everywhere: it ships with gmlib)
SAMPLED_METRICS = {"fdd", "mmd", "precision", "recall", "density", "coverage", "accuracy",
                   "purity", "fdd_ddim20"}


@pytest.mark.slow
@pytest.mark.parametrize("name", STORED)
def test_a_stored_model_is_the_model_its_row_scored(name):
    """The file carries the row results.json publishes (so it is the run that was scored),
    and the reloaded network computes what the trained one did: its likelihood bound where it
    has one, and samples of the right shape otherwise."""
    stored = load_model(name, BENCH)
    row = {r["name"]: r for r in load_results(BENCH)["rows"]}[name]
    assert stored.row == {k: v for k, v in row.items() if k != "measured"}
    entry = get_entry(name)
    ctx = context(entry.track, seed=stored.seed)
    fresh = evaluate_entry(entry, stored.model, ctx, row["train_seconds"], quality=False)
    for key in ("test_nll", "test_neg_elbo"):
        if row[key] is not None:
            assert getattr(fresh, key) == pytest.approx(row[key], rel=1e-4), key
    assert fresh.params == row["params"]
    options = {"c": torch.arange(4) % 10} if "accuracy" in row["extra"] else {}
    samples = stored.model.sample(4, **options)
    assert samples.shape[1:] in (ctx.test.shape[1:], (ctx.test[0].numel(),))
    assert torch.isfinite(samples).all()


def test_every_study_with_a_build_has_its_first_runs_stored():
    missing = [run for run in STUDY_RUNS if not study_model_path(*run, BENCH).is_file()]
    assert not missing, "run `python -m gmlib.bench.studies NAME --write --save-models`"


@pytest.mark.slow
@pytest.mark.parametrize(("study", "arm"), STUDY_RUNS)
def test_a_stored_study_run_is_the_run_studies_json_reports(study, arm):
    stored = load_study_model(study, arm, BENCH)
    result = load_studies(BENCH)[study]
    first = {metric: values[0] for metric, values in result["arms"][arm].items()}
    assert stored.seed == result["seeds"][0] and stored.row == first
    compared = set(first) - SAMPLED_METRICS
    if not compared:  # every metric is of samples: the stored row is the check
        return
    seed_everything(stored.seed)
    fresh = studies()[study].score(arm, stored.model)
    for metric in compared:
        assert fresh[metric] == pytest.approx(first[metric], rel=1e-4, abs=1e-6), metric


def _store_tiny(tmp_path: Path, name: str = "dcgan") -> Path:
    entry = get_entry(name)
    model = entry.build(context(entry.track))
    row = evaluate_entry(entry, model, context(entry.track), 0.0, quality=False)
    return save_model(name, model, row, tmp_path, seed=0)


def test_save_and_load_round_trip(tmp_path):
    path = _store_tiny(tmp_path)
    assert path == model_path("dcgan", tmp_path) and stored_names(tmp_path) == ["dcgan"]
    stored = load_model("dcgan", tmp_path)
    assert not stored.model.training and stored.row["name"] == "dcgan"
    saved = torch.load(path, weights_only=True)["state_dict"]
    for key, value in stored.model.state_dict().items():
        assert torch.equal(value, saved[key])


def test_another_entrys_file_is_refused(tmp_path):
    path = _store_tiny(tmp_path)
    shutil.copy(path, model_path("cgan", tmp_path))
    with pytest.raises(ValueError, match="holds the model of 'dcgan', not 'cgan'"):
        load_model("cgan", tmp_path)


def test_stale_weights_are_refused(tmp_path):
    entry = get_entry("dcgan")
    other = get_entry("cgan").build(context(entry.track))  # same class family, other shapes
    row = evaluate_entry(entry, other, context(entry.track), 0.0, quality=False)
    save_checkpoint(model_path("dcgan", tmp_path), other, hparams={"entry": "dcgan"},
                    extra={"row": row.as_dict()})
    with pytest.raises(ValueError, match="does not fit the network of 'dcgan'"):
        load_model("dcgan", tmp_path)


def test_a_corrupted_file_is_refused(tmp_path):
    path = _store_tiny(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a checkpoint that loads safely"):
        load_model("dcgan", tmp_path)


def test_missing_and_unstorable_entries(tmp_path):
    with pytest.raises(FileNotFoundError, match="--save-models"):
        load_model("dcgan", tmp_path)
    with pytest.raises(ValueError, match="has no `build`"):
        load_model("gmm", tmp_path)
    with pytest.raises(ValueError, match="unknown bench entry"):
        load_model("dcgn", tmp_path)


def test_save_models_needs_write(capsys):
    with pytest.raises(SystemExit):
        main(["uniform", "--save-models"])
    assert "give --write DIR" in capsys.readouterr().err
