"""Shared fixtures: every device the machine has, a fixed seed, and a tiny trainable model.

The tests are hermetic: gmlib writes nothing outside the folders a test names (the digit
classifier ships with the package and is never cached), and the `seed` fixture puts every
global random generator back as it found it.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Iterator

import matplotlib
import numpy as np
import pytest
import torch
from torch import Tensor, nn

from gmlib.base import DensityModel
from gmlib.utils import seed_everything
from gmlib.validation import Support

matplotlib.use("Agg")  # tests never open windows
os.environ.setdefault("GMLIB_PROGRESS", "0")

# The `slow` marker is honest: a test that took longer than this without it is named at the
# end of the run (not failed: a loaded machine can make any test slow once).
SLOW_SECONDS = 5.0
_unmarked_slow: list[tuple[float, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if (report.when == "call" and report.duration > SLOW_SECONDS
            and "slow" not in report.keywords and report.nodeid.startswith("tests/")):
        _unmarked_slow.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _unmarked_slow:
        terminalreporter.section("tests over 5 s without @pytest.mark.slow")
        for seconds, nodeid in sorted(_unmarked_slow, reverse=True):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Each test that takes `device` runs once per available device."""
    return torch.device(request.param)


@contextlib.contextmanager
def global_rng_restored() -> Iterator[None]:
    """Put Python's, NumPy's and PyTorch's (CPU and CUDA) global generators back on exit."""
    saved = (random.getstate(), np.random.get_state(),  # noqa: NPY002 (the legacy global RNG)
             torch.get_rng_state(),
             torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])  # noqa: NPY002
        torch.set_rng_state(saved[2])
        if saved[3] is not None:
            torch.cuda.set_rng_state_all(saved[3])


@pytest.fixture
def seed() -> Iterator[int]:
    """Seed every generator; tests that use randomness are reproducible.

    Afterwards the global generators are as the fixture found them, so a test's draws never
    depend on which tests ran before it.
    """
    with global_rng_restored():
        seed_everything(0)
        yield 0


class DiagonalGaussian(DensityModel):
    """The smallest trainable density: N(mu, diag(sigma^2)) with learnable mu, log sigma."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__((dim,), Support.real())
        self.mu = nn.Parameter(torch.zeros(dim))
        self.log_sigma = nn.Parameter(torch.zeros(dim))

    def _log_prob(self, x: Tensor) -> Tensor:
        z = (x - self.mu) / self.log_sigma.exp()
        return (-0.5 * z**2 - self.log_sigma - 0.5 * math.log(2 * math.pi)).sum(-1)

    def _sample(self, n: int) -> Tensor:
        return self.mu + self.log_sigma.exp() * torch.randn(n, self.mu.shape[0],
                                                            device=self.mu.device)


@pytest.fixture
def gaussian_model() -> DiagonalGaussian:
    return DiagonalGaussian(2)
