"""MCMC samplers driven by a score: Langevin dynamics, its short-run form with a replay buffer,
and annealed Langevin over decreasing noise levels.

The (unadjusted) Langevin update x <- x + (step / 2) grad log p(x) + sqrt(step) xi, xi ~ N(0, I),
samples p as step -> 0 and the number of steps -> infinity, and it needs only the score, so
the unknown normalising constant of an energy-based model never appears.

References:
    Roberts & Tweedie 1996, Exponential convergence of Langevin distributions and their
    discrete approximations, https://doi.org/10.2307/3318418
    Du & Mordatch 2019, Implicit generation and modeling with energy based models,
    https://arxiv.org/abs/1903.08689
    Song & Ermon 2019, Generative modeling by estimating gradients of the data distribution,
    https://arxiv.org/abs/1907.05600
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from gmlib.validation import check_int, check_nonnegative, check_tensor

__all__ = ["ReplayBuffer", "annealed_langevin", "energy_score", "langevin"]

ScoreFn = Callable[[Tensor], Tensor]


def energy_score(energy: Callable[[Tensor], Tensor]) -> ScoreFn:
    """The score of p(x) ∝ exp(-E(x)): x -> -grad E(x), by autograd (works under no_grad).

    Shapes:
        energy: (B, *event) -> (B,); the score: (B, *event) -> (B, *event)
    """
    def score(x: Tensor) -> Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(x).sum(), x)
        return -grad
    return score


def langevin(score: ScoreFn, x: Tensor, *, n_steps: int, step_size: float,
             noise_scale: float | None = None, clip: float | None = None,
             generator: torch.Generator | None = None) -> Tensor:
    """Run `n_steps` Langevin updates x <- x + (step_size / 2) score(x) + noise_scale xi from `x`.

    Args:
        score: x -> grad log p(x).
        x: the starting points.
        n_steps, step_size: the chain's length and step.
        noise_scale: the noise's standard deviation; None gives sqrt(step_size), the proper
            Langevin diffusion. Short-run EBM training often uses a smaller value (Du &
            Mordatch 2019), which then samples a colder distribution.
        clip: clamp the samples to [-clip, clip] after every step (images), or None.

    Shapes:
        x: (B, *event) -> (B, *event)
    """
    check_tensor(x, "x")
    check_int(n_steps, "n_steps", minimum=0)
    step = check_nonnegative(step_size, "step_size")
    sd = step ** 0.5 if noise_scale is None else check_nonnegative(noise_scale, "noise_scale")
    x = x.detach()
    for _ in range(n_steps):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = x + step / 2 * score(x) + sd * noise
        if clip is not None:
            x = x.clamp(-clip, clip)
    return x.detach()


class ReplayBuffer:
    """Past chain ends, from which short-run chains restart (persistent chains).

    Each draw restarts a share `reinit_prob` of the chains from fresh noise, so the buffer
    keeps exploring (Du & Mordatch 2019).

    Args:
        capacity: number of stored samples.
        init: n -> (n, *event) fresh starting points (e.g. uniform noise).
        reinit_prob: the share of chains started afresh at every draw.
    """

    def __init__(self, capacity: int, init: Callable[[int], Tensor],
                 reinit_prob: float = 0.05) -> None:
        self.capacity = check_int(capacity, "capacity", minimum=1)
        if not 0.0 <= check_nonnegative(reinit_prob, "reinit_prob") <= 1.0:
            raise ValueError(f"reinit_prob must be in [0, 1]; got {reinit_prob!r}")
        self.init, self.reinit_prob = init, float(reinit_prob)
        self.samples = init(self.capacity).detach()
        self._index: Tensor | None = None

    def draw(self, n: int) -> Tensor:
        """n starting points: stored chain ends, a share of them replaced by fresh noise."""
        check_int(n, "n", minimum=1)
        self._index = torch.randint(self.capacity, (n,))
        start = self.samples[self._index].clone()
        fresh = torch.rand(n) < self.reinit_prob
        if bool(fresh.any()):
            start[fresh.to(start.device)] = self.init(int(fresh.sum())).to(start)
        return start

    def store(self, x: Tensor) -> None:
        """Put the chains started by the last `draw` back, at the places they came from."""
        if self._index is None or len(self._index) != len(x):
            raise ValueError("store(x) must follow draw(n) with len(x) == n")
        self.samples = self.samples.to(x.device)
        self.samples[self._index.to(x.device)] = x.detach()
        self._index = None


def annealed_langevin(score: Callable[[Tensor, int], Tensor], x: Tensor,
                      sigmas: Sequence[float] | Tensor, *, n_steps_each: int = 10,
                      step_lr: float = 2e-5, final_denoise: bool = True,
                      generator: torch.Generator | None = None) -> Tensor:
    """Annealed Langevin dynamics (Song & Ermon 2019): Langevin at each noise level from the
    largest to the smallest, with step alpha_i = step_lr * sigma_i^2 / sigma_L^2, so the
    chain first moves between modes on a smooth density and then sharpens.

    Args:
        score: (x, i) -> the score of the data blurred by noise sigma_i (level index i).
        x: the starting points (noise at the largest level).
        sigmas: the decreasing noise levels.
        final_denoise: end with x + sigma_L^2 score(x, L-1), the posterior mean of the
            clean data (Tweedie's formula), which removes the last level's noise.

    Shapes:
        x: (B, *event) -> (B, *event)
    """
    sigmas = torch.as_tensor(sigmas, dtype=torch.float64)
    if sigmas.dim() != 1 or len(sigmas) < 1 or bool((sigmas[1:] > sigmas[:-1]).any()):
        raise ValueError("sigmas must be a non-empty decreasing sequence of noise levels")
    smallest = float(sigmas[-1])
    for i, sigma in enumerate(sigmas.tolist()):
        step = step_lr * sigma ** 2 / smallest ** 2
        x = langevin(lambda z, i=i: score(z, i), x, n_steps=n_steps_each, step_size=step,
                     generator=generator)
    if final_denoise:
        x = x + smallest ** 2 * score(x, len(sigmas) - 1)
    return x.detach()
