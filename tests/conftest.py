"""Shared fixtures: every device the machine has, a fixed seed, and a tiny trainable model."""

from __future__ import annotations

import math
import os

import matplotlib
import pytest
import torch
from torch import Tensor, nn

from gmlib.base import DensityModel
from gmlib.utils import seed_everything
from gmlib.validation import Support

matplotlib.use("Agg")  # tests never open windows
os.environ.setdefault("GMLIB_PROGRESS", "0")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Each test that takes `device` runs once per available device."""
    return torch.device(request.param)


@pytest.fixture
def seed() -> int:
    """Seed every generator; tests that use randomness are reproducible."""
    seed_everything(0)
    return 0


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
