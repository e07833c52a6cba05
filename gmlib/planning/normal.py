"""The diagonal Gaussian that both the true and the learned dynamics of `gmlib.planning` are."""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.densities import LOG_2PI

__all__ = ["normal_draw", "normal_log_prob"]


def normal_log_prob(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """log N(x; mean, diag std^2) in nats, summed over the last dimension: (B, S) -> (B,)."""
    z = (x - mean) / std
    return (-0.5 * z ** 2 - std.log() - 0.5 * LOG_2PI).sum(1)


def normal_draw(mean: Tensor, std: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """mean + std * eps with eps drawn on the CPU generator (reproducible on any device)."""
    eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype).to(mean.device)
    return mean + std * eps
