"""Data-parallel training under torchrun: two CPU processes (gloo) against one process.

PyTorch's DistributedDataParallel averages the gradients of the processes, and fit's
DistributedSampler gives each its half of every global batch, so two processes must end
with the same weights as each other, and as one process trained on the same global batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gmlib.train import fit, load_checkpoint
from gmlib.train.distributed import LossModule, is_distributed, rank, reduce_sums, world_size

from . import ddp_worker
from .idx_files import write_mnist_files

WORKER = Path(ddp_worker.__file__)


def _torchrun(*args: str, n: int = 2, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GMLIB_PROGRESS": "0"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={n}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    _torchrun(str(WORKER), str(out))
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.mark.slow
def test_both_ranks_end_with_identical_weights(two_processes):
    first, second = two_processes
    assert first["world_size"] == second["world_size"] == 2
    for name, value in first["state"].items():
        assert torch.equal(value, second["state"][name]), name
    assert first["step_loss"] == second["step_loss"]  # the global batch's loss, everywhere
    assert first["val_loss"] == second["val_loss"]


@pytest.mark.slow
def test_two_processes_match_one_process_on_the_same_global_batches(two_processes):
    single = ddp_worker.train()
    assert single["world_size"] == 1
    distributed = two_processes[0]
    assert len(distributed["step_loss"]) == len(single["step_loss"]) == 12
    torch.testing.assert_close(torch.tensor(distributed["step_loss"]),
                               torch.tensor(single["step_loss"]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.tensor(distributed["val_loss"]),
                               torch.tensor(single["val_loss"]), rtol=1e-5, atol=1e-6)
    for name, value in single["state"].items():
        torch.testing.assert_close(distributed["state"][name], value, rtol=1e-5, atol=1e-6)
    # and training did something: the loss fell
    assert single["train_loss"][-1] < single["train_loss"][0]


@pytest.mark.slow
def test_shuffled_ranks_agree_too(tmp_path):
    _torchrun(str(WORKER), str(tmp_path), "--shuffle")
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    for name, value in first["state"].items():
        assert torch.equal(value, second["state"][name]), name


@pytest.mark.slow
def test_the_training_command_runs_unchanged_under_torchrun(tmp_path):
    data = write_mnist_files(tmp_path / "mnist", n_train=96, n_test=32, side=8)
    _torchrun("-m", "gmlib.train", "fvsbn", "--data", f"idx:{data}", "--epochs", "2",
              "--batch-size", "16", "--device", "cpu", "--out", str(tmp_path / "runs"))
    metrics = json.loads((tmp_path / "runs" / "fvsbn" / "metrics.json").read_text())
    assert metrics["settings"]["processes"] == 2
    assert metrics["test_nll"] > 0 and metrics["bits_per_dim"] == pytest.approx(
        metrics["test_nll"] / (64 * 0.6931471805599453))
    checkpoint = load_checkpoint(tmp_path / "runs" / "fvsbn" / "checkpoint.pt")
    assert checkpoint["hparams"]["image_shape"] == [1, 8, 8]


def test_outside_torchrun_nothing_is_distributed():
    assert not is_distributed() and world_size() == 1 and rank() == 0
    assert reduce_sums(1.5, 2.0, device=torch.device("cpu")) == [1.5, 2.0]


def test_fit_steps_through_the_loss_module(gaussian_model):
    x = torch.randn(64, 2) + 3
    history = fit(gaussian_model, x, epochs=30, lr=0.1, batch_size=16, seed=0, progress=False,
                  shuffle=False)
    assert history.steps_run == 120
    assert torch.allclose(gaussian_model.mu, x.mean(0), atol=0.2)
    module = LossModule(gaussian_model)
    torch.testing.assert_close(module(x), gaussian_model.loss(x))


def test_mixed_precision_trains_on_cpu(gaussian_model):
    x = torch.randn(256, 2) * 0.5 + 1
    history = fit(gaussian_model, x, epochs=20, lr=0.05, batch_size=64, seed=0, progress=False,
                  amp=True)
    assert history.train_loss[-1] < history.train_loss[0]
    assert all(p.dtype == torch.float32 for p in gaussian_model.parameters())


def test_parameters_without_gradient_are_found_before_ddp_waits_for_them():
    # WaveNet's last residual convolution feeds nothing; DDP must be told to look for it
    from gmlib.autoregressive import FVSBN, WaveNet
    from gmlib.train.distributed import _has_unused_parameters

    x = torch.randint(0, 17, (4, 1, 8, 8)).float()
    wavenet = WaveNet((1, 8, 8), 17, channels=8).train()
    assert _has_unused_parameters(wavenet, lambda: wavenet.loss(x).mean())
    assert wavenet.training  # left as it was
    fvsbn = FVSBN((1, 8, 8))
    assert not _has_unused_parameters(fvsbn, lambda: fvsbn.loss((x > 8).float()).mean())
