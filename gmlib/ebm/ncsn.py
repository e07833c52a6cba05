"""`NoiseConditionalScoreModel`: one network for the scores of the data blurred at several
noise levels, trained by denoising score matching and sampled by annealed Langevin (NCSN).

A single score model fails in the regions the data never visit: there the score is never
fitted, and a Langevin chain started there wanders, and between separated modes it cannot
find the right proportions. Blurring the data with large noise fills the space and joins the
modes; small noise keeps the detail. NCSN learns s(x, sigma_i) for a geometric ladder
sigma_1 > ... > sigma_L and anneals the Langevin chain down the ladder.

The network predicts sigma * score (the noise direction), so its output has unit scale at
every level: s(x, sigma) = net(x, i) / sigma (Song & Ermon 2020).

References:
    Song & Ermon 2019, Generative modeling by estimating gradients of the data distribution,
    https://arxiv.org/abs/1907.05600
    Song & Ermon 2020, Improved techniques for training score-based generative models,
    https://arxiv.org/abs/2006.09011
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.data.digits import levels_to_signed, signed_to_levels
from gmlib.ebm.samplers import annealed_langevin
from gmlib.ebm.score_matching import denoising_score_matching_loss
from gmlib.validation import check_int, check_nonnegative

__all__ = ["NoiseConditionalScoreModel", "geometric_sigmas"]


def geometric_sigmas(sigma_max: float, sigma_min: float, n_levels: int) -> Tensor:
    """n_levels noise levels from sigma_max down to sigma_min in geometric progression.

    Shapes:
        returns (n_levels,) float64
    """
    check_int(n_levels, "n_levels", minimum=1)
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max; got {sigma_min}, {sigma_max}")
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n_levels,
                                    dtype=torch.float64))


class NoiseConditionalScoreModel(GenerativeModel):
    """Scores at a ladder of noise levels from one conditioned network.

    Args:
        net: `net(x, t, c=None)` with t (B,) = i / (L - 1) the level's position in [0, 1];
            e.g. `gmlib.nn.UNet` or `gmlib.nn.ConditionedMLP`.
        event_shape: shape of one example.
        sigmas: the decreasing noise levels (see `geometric_sigmas`).
        n_levels: data on grey levels 0..n_levels-1, scaled to [-1, 1] inside; None for
            real-valued data.

    Shapes:
        score(x, i): (B, *event) -> (B, *event); loss(x) -> (B,); sample(n) -> (n, *event)
    """

    def __init__(self, net: nn.Module, event_shape: Sequence[int], sigmas: Sequence[float] |
                 Tensor, *, n_levels: int | None = None) -> None:
        super().__init__(event_shape, Support.real() if n_levels is None
                         else Support.levels(n_levels))
        sigmas = torch.as_tensor(sigmas, dtype=torch.float64)
        if sigmas.dim() != 1 or len(sigmas) < 1 or bool((sigmas <= 0).any()) or bool(
                (sigmas[1:] > sigmas[:-1]).any()):
            raise ValueError("sigmas must be a non-empty decreasing sequence of positive levels")
        self.net = net
        self.register_buffer("sigmas", sigmas)
        self.n_levels = None if n_levels is None else check_int(n_levels, "n_levels", minimum=2)

    def _level_time(self, index: Tensor, like: Tensor) -> Tensor:
        return index.to(like.dtype) / max(len(self.sigmas) - 1, 1)

    def score(self, x: Tensor, level: int | Tensor) -> Tensor:
        """s(x, sigma_i) = net(x, i) / sigma_i, for x in the model's (scaled) space.

        Shapes:
            x: (B, *event), level: an int or (B,) ints 0..L-1 -> (B, *event)
        """
        index = torch.as_tensor(level, device=x.device).long().expand(x.shape[0])
        if bool(((index < 0) | (index >= len(self.sigmas))).any()):
            raise ValueError(f"level must be in 0..{len(self.sigmas) - 1}")
        sigma = self.sigmas.to(x.device, x.dtype)[index].view(-1, *([1] * (x.dim() - 1)))
        return self.net(x, self._level_time(index, x)) / sigma

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Denoising score matching at a random level per example, weighted by sigma^2 so
        every level counts alike: 0.5 |sigma s(x + sigma eps, sigma) + eps|^2."""
        self.check_condition(c)
        x = levels_to_signed(self.validate_input(x), self.n_levels)
        index = torch.randint(len(self.sigmas), (x.shape[0],), device=x.device)
        sigma = self.sigmas.to(x.device, x.dtype)[index]
        scaled = sigma.view(-1, *([1] * (x.dim() - 1)))
        return denoising_score_matching_loss(lambda z: self.score(z, index), x, sigma) * (
            scaled.flatten() ** 2)

    def _sample(self, n: int, *, n_steps_each: int = 10, step_lr: float = 2e-5,
                final_denoise: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """Annealed Langevin from N(0, sigma_1^2 I); grey levels are rounded at the end."""
        sigma_max = float(self.sigmas[0])
        x = sigma_max * torch.randn((n, *self.event_shape), generator=generator,
                                    device=self.device)
        x = annealed_langevin(self.score, x, self.sigmas, n_steps_each=n_steps_each,
                              step_lr=check_nonnegative(step_lr, "step_lr"),
                              final_denoise=final_denoise, generator=generator)
        return signed_to_levels(x, self.n_levels)
