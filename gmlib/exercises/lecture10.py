"""Checks for the exercises of lecture 10 (energy-based models and score matching)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _gaussian_score(x: Tensor) -> Tensor:
    return -(x - torch.tensor([1.0, -2.0], dtype=x.dtype)) / 0.25


@exercise("10.1", "One Langevin step")
def _langevin_step(answer: object) -> str:
    x = torch.randn(50, 2, generator=_gen(), dtype=F64)
    noise = torch.randn(50, 2, generator=_gen(1), dtype=F64)
    step = 0.04
    got = expect_tensor(answer(x, _gaussian_score, step, noise), (50, 2), "(n, 2)")
    score = _gaussian_score(x)
    want = x + step / 2 * score + math.sqrt(step) * noise
    if torch.allclose(got, want, atol=1e-10):
        return ("x + (step / 2) score(x) + sqrt(step) noise: the Euler-Maruyama step of the "
                "Langevin diffusion, whose stationary law is p whatever its normaliser.")
    if torch.allclose(got, x + step * score + math.sqrt(step) * noise, atol=1e-10):
        raise Incorrect("the drift is (step / 2) score(x): with a full step and noise "
                        "sqrt(step) the chain samples p^2 made proper, a colder density")
    if torch.allclose(got, x + step / 2 * score + step * noise, atol=1e-10):
        raise Incorrect("the noise's standard deviation is sqrt(step), not step")
    if torch.allclose(got, x - step / 2 * score + math.sqrt(step) * noise, atol=1e-10):
        raise Incorrect("the sign of the drift is flipped: follow the score uphill in log p")
    if torch.allclose(got, x + step / 2 * score, atol=1e-10):
        raise Incorrect("without the noise this is gradient ascent: it finds a mode, it does "
                        "not sample")
    raise Incorrect("x_new = x + (step / 2) score(x) + sqrt(step) noise")


def _blur_target(x: Tensor, sigma: float, noise: Tensor) -> Tensor:
    return 0.5 * (_gaussian_score(x + sigma * noise) + noise / sigma).pow(2).sum(-1)


@exercise("10.2", "The denoising score-matching loss")
def _dsm(answer: object) -> str:
    x = torch.randn(40, 2, generator=_gen(), dtype=F64)
    noise = torch.randn(40, 2, generator=_gen(1), dtype=F64)
    sigma = 0.3
    got = expect_tensor(answer(_gaussian_score, x, sigma, noise), (40,), "(n,), one per example")
    want = _blur_target(x, sigma, noise)
    if torch.allclose(got, want, atol=1e-8):
        return ("0.5 |s(x + sigma eps) + eps / sigma|^2: the score of the blurring kernel, "
                "-(x_noisy - x) / sigma^2, is the regression target (Vincent 2011).")
    wrong_sign = 0.5 * (_gaussian_score(x + sigma * noise) - noise / sigma).pow(2).sum(-1)
    if torch.allclose(got, wrong_sign, atol=1e-8):
        raise Incorrect("the target's sign is flipped: the score points from x_noisy back "
                        "towards x, i.e. along -eps")
    no_sigma = 0.5 * (_gaussian_score(x + sigma * noise) + noise).pow(2).sum(-1)
    if torch.allclose(got, no_sigma, atol=1e-8):
        raise Incorrect("the target is -(x_noisy - x) / sigma^2 = -eps / sigma: divide eps by "
                        "sigma")
    squared = 0.5 * (_gaussian_score(x + sigma * noise) + noise / sigma ** 2).pow(2).sum(-1)
    if torch.allclose(got, squared, atol=1e-8):
        raise Incorrect("x_noisy - x = sigma eps, so (x_noisy - x) / sigma^2 = eps / sigma, "
                        "not eps / sigma^2")
    clean = 0.5 * (_gaussian_score(x) + noise / sigma).pow(2).sum(-1)
    if torch.allclose(got, clean, atol=1e-8):
        raise Incorrect("evaluate the score at the noisy point x + sigma eps")
    raise Incorrect("per example: 0.5 * |score(x + sigma * eps) + eps / sigma|^2 summed over "
                    "the coordinates")


@exercise("10.3", "The partition function on a grid")
def _log_partition(answer: object) -> str:
    # an unnormalised log density with large values: exp overflows in float64
    log_values = torch.linspace(700.0, 760.0, 1000, dtype=F64)
    area = 0.01
    want = float(torch.logsumexp(log_values, 0)) + math.log(area)
    got = answer(log_values, area)
    if isinstance(got, Tensor):
        if got.numel() != 1:
            raise Incorrect(f"return one number, log Z; got a tensor of shape {tuple(got.shape)}")
        got = float(got)
    if not isinstance(got, float | int) or isinstance(got, bool):
        raise Incorrect(f"return log Z as a float or a 0-d tensor; got {type(got).__name__}")
    if math.isfinite(got) and abs(got - want) < 1e-8:
        return ("log Z = logsumexp(log p~) + log(cell area): the midpoint rule, computed in "
                "log space so energies of hundreds of nats do not overflow.")
    if not math.isfinite(got):
        raise Incorrect("exp(760) overflows: use torch.logsumexp instead of log(sum(exp))")
    if abs(got - float(torch.logsumexp(log_values, 0))) < 1e-8:
        raise Incorrect("each grid point stands for a cell: add log(cell area)")
    raise Incorrect("Z is the sum over cells of exp(log p~) times the cell's area")


# 10.6: a 1-D mixture 0.8 N(-4, 0.5^2) + 0.2 N(4, 0.5^2), whose blurred scores are exact
_WEIGHTS, _MEANS, _VAR = (0.8, 0.2), (-4.0, 4.0), 0.25


def _mixture_score(x: Tensor, sigma: float) -> Tensor:
    """The score of the mixture blurred by N(0, sigma^2): each component's variance grows."""
    var = _VAR + sigma ** 2
    logs = torch.stack([math.log(w) - (x - m) ** 2 / (2 * var)
                        for w, m in zip(_WEIGHTS, _MEANS, strict=True)])
    resp = torch.softmax(logs, 0)
    return sum(r * -(x - m) / var for r, m in zip(resp, _MEANS, strict=True))


@exercise("10.6", "Annealed Langevin dynamics")
def _annealed(answer: object) -> str:
    # the largest sigma is about the distance between the modes (Song & Ermon 2020)
    sigmas = torch.logspace(math.log10(12.0), math.log10(0.05), 20).tolist()
    start = torch.rand(3000, 1, generator=_gen(), dtype=F64) * 16 - 8
    got = expect_tensor(answer(_mixture_score, start.clone(), sigmas, 50, 0.002, _gen(1)),
                        (3000, 1), "like x, (n, 1)")
    if not bool(torch.isfinite(got).all()):
        raise Incorrect("the samples diverged: the step at level i is step_lr * sigma_i^2 / "
                        "sigma_L^2 with sigma_L the *smallest* level (and drift step / 2)")
    right = float((got > 0).double().mean())
    spread = float(torch.cat([got[got > 0] - 4, got[got <= 0] + 4]).std())
    if spread > 1.5:
        raise Incorrect(f"the samples spread {spread:.1f} around their modes (the data: 0.5): "
                        "anneal from the largest sigma down to the smallest, and score each "
                        "level with its own sigma, so the chain ends on the sharp density")
    if abs(right - 0.5) < 0.1:  # still near the uniform start's half and half
        raise Incorrect(f"{100 * right:.0f}% of the samples sit in the right mode, which "
                        "holds 20% of the mass: the chain did not move between the modes. "
                        "Start at the largest sigma, where the blurred density is one smooth "
                        "bump, and scale the step with sigma_i^2 so the large-noise levels "
                        "take large steps")
    if spread > 0.62:
        raise Incorrect(f"the modes are {spread:.2f} wide, not 0.5: with the drift "
                        "(step / 2) score(x) the noise is sqrt(step) z; more noise samples a "
                        "flatter density")
    if abs(right - 0.2) > 0.05:
        raise Incorrect(f"{100 * right:.0f}% of the samples sit in the right mode, which "
                        "holds 20% of the mass: the chain did not settle the weights. "
                        "Start at the largest sigma, where the blurred density is one smooth "
                        "bump, and scale the step with sigma_i^2 so the large-noise levels "
                        "take large steps")
    return (f"mode shares {100 * (1 - right):.0f}% / {100 * right:.0f}% (the weights: 80 / 20) "
            f"and mode width {spread:.2f} (0.5): at large sigma the chain moves between the "
            "modes and settles their weights, at small sigma it sharpens inside each.")
