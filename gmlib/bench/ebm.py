"""Bench entry for the score models of lecture 10.

* `ncsn`: a noise-conditional score network (the U-Net of the diffusion entries) trained by
  denoising score matching at 12 noise levels from 6 down to 0.02 (digits scaled to
  [-1, 1]), sampled by annealed Langevin dynamics (10 steps per level, step_lr 2e-4, the
  lecture's values). Annealed Langevin gives no likelihood, so the row reports sample
  metrics only.
"""

from __future__ import annotations

from torch import nn

from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import N_SAMPLES, sample_report
from gmlib.ebm import NoiseConditionalScoreModel, geometric_sigmas
from gmlib.nn import UNet

SAMPLER = {"n_steps_each": 10, "step_lr": 2e-4}


def _build(ctx: BenchContext) -> NoiseConditionalScoreModel:
    channels = ctx.shape[0]
    return NoiseConditionalScoreModel(UNet(channels, channels, channels=(32, 64), emb_dim=64),
                                      ctx.shape, geometric_sigmas(6.0, 0.02, 12),
                                      n_levels=ctx.levels)


def _train(ctx: BenchContext) -> nn.Module:
    return ctx.fit(_build(ctx), epochs=100, lr=2e-3, batch_size=64, validate=False)


def _quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    return sample_report(model.sample(N_SAMPLES, **SAMPLER), ctx)


register(BenchEntry(
    name="ncsn", family="ebm", track="17-level",
    description="noise-conditional score network (U-Net (32, 64)), denoising score matching "
                "at 12 levels from 6 to 0.02, 100 epochs; sample metrics of 1000 annealed "
                "Langevin samples (10 steps per level) vs the test digits",
    train=_train, build=_build, has_likelihood=False, quality=_quality))
