"""Lecture 17's study: sample quality against network evaluations, for every sampler.

Each arm is one sampler of one stored bench model run with one budget of network function
evaluations (NFE): the FDD of 1000 samples against the test digits (the leaderboard's
protocol), and the seconds they took on the measuring machine. The seeds are sampling seeds:
the models are the stored leaderboard models, not retrained. An NFE is one pass of the
model's network, so NFE compares samplers *of the same network*; the seconds compare across
networks, whose passes cost very different amounts (a U-Net on 64 pixels against an MLP on
an 8-number code).

Run from the repository root (the models are read from `benchmarks/models`, or from the
folder in `$GMLIB_BENCH_DIR`):
`python -m gmlib.bench.studies sampler-nfe --write benchmarks`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cache

import torch
from torch import Tensor, nn

from gmlib.bench.quality import N_SAMPLES
from gmlib.bench.studies import Study, register_study
from gmlib.data import digits
from gmlib.diffusion.fast import dpm_solver_sample
from gmlib.metrics import fdd

__all__ = ["SAMPLERS", "Sampler", "sampler_arm"]

Sampler = tuple[str, str, Callable[[nn.Module, int, int], Tensor], tuple[int, ...]]


def _ddpm(model: nn.Module, n: int, nfe: int) -> Tensor:
    return model.sample(n)  # all T steps, the ancestral sampler


def _ddim(model: nn.Module, n: int, nfe: int) -> Tensor:
    return model.sample(n, steps=nfe, eta=0.0)


def _dpm(model: nn.Module, n: int, nfe: int) -> Tensor:
    return dpm_solver_sample(model, n, steps=nfe)


def _ode(method: str, per_step: int) -> Callable[[nn.Module, int, int], Tensor]:
    def sample(model: nn.Module, n: int, nfe: int) -> Tensor:
        return model.sample(n, steps=nfe // per_step, method=method)
    return sample


def _masked(model: nn.Module, n: int, nfe: int) -> Tensor:
    return model.sample(n, steps=nfe)


def _langevin(model: nn.Module, n: int, nfe: int) -> Tensor:
    # the leaderboard's sampler: 12 noise levels x 10 steps, and one final denoising step
    from gmlib.bench.ebm import SAMPLER

    return model.sample(n, **SAMPLER)


def _plain(model: nn.Module, n: int, nfe: int) -> Tensor:
    return model.sample(n)


# (label, stored bench entry, sampler, the NFE budgets it is run with)
SAMPLERS: tuple[Sampler, ...] = (
    ("DDPM ancestral", "ddpm-guided", _ddpm, (250,)),
    ("DDIM", "ddpm-guided", _ddim, (4, 8, 16, 32, 64)),
    ("DPM-Solver++(2M)", "ddpm-guided", _dpm, (4, 8, 16, 32)),
    ("flow matching, Euler", "flow-matching", _ode("euler", 1), (2, 4, 8, 16, 32, 64)),
    ("flow matching, midpoint", "flow-matching", _ode("midpoint", 2), (4, 8, 16, 32, 100)),
    ("flow matching, RK4", "flow-matching", _ode("rk4", 4), (4, 8, 16, 32)),
    ("rectified flow, Euler", "reflow", _ode("euler", 1), (1, 2, 4, 8)),
    ("latent flow matching, midpoint", "latent-flow-matching", _ode("midpoint", 2),
     (2, 4, 8, 100)),
    ("masked diffusion", "masked-diffusion", _masked, (4, 8, 16, 32, 64)),
    ("annealed Langevin (NCSN)", "ncsn", _langevin, (121,)),
    ("WaveNet (autoregressive)", "wavenet", _plain, (64,)),
    ("VQ-VAE + transformer", "vqvae-transformer", _plain, (17,)),
    ("VAE", "vae-logistic-conv", _plain, (1,)),
    ("DCGAN", "dcgan", _plain, (1,)),
)


def sampler_arm(label: str, nfe: int) -> str:
    """The arm's name, e.g. 'DDIM, 8 NFE'."""
    return f"{label}, {nfe} NFE"


ARMS = {sampler_arm(label, nfe): (entry, sample, nfe)
        for label, entry, sample, budgets in SAMPLERS for nfe in budgets}


@cache
def _stored(entry: str) -> nn.Module:
    from gmlib.bench.stored import load_model

    return load_model(entry, os.environ.get("GMLIB_BENCH_DIR", "benchmarks")).model


def _run(arm: str, seed: int) -> dict[str, float]:
    entry, sample, nfe = ARMS[arm]
    model = _stored(entry)
    start = time.perf_counter()
    with torch.no_grad():
        samples = sample(model, N_SAMPLES, nfe).reshape(-1, 1, 8, 8)
    seconds = time.perf_counter() - start
    return {"fdd": fdd(samples.cpu(), reference=digits("test")), "nfe": float(nfe),
            "seconds": seconds}


register_study(Study(
    name="sampler-nfe", lecture="17",
    question="How does sample quality (FDD of 1000 samples) grow with the network "
             "evaluations each sampler spends?",
    arms=tuple(ARMS), run=_run))
