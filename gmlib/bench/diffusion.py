"""Bench entries for the diffusion models and flow matching (lecture 11).

* `ddpm`: a DDPM on the 17-level digits, T = 1000 cosine schedule, a small U-Net whose output
  is per-pixel logits over the grey levels (the "levels" parameterisation of
  `gmlib.diffusion.GaussianDiffusion`). Its test NLL is the full variational bound, every one
  of the 1000 terms evaluated, with the categorical decoder: a bound on the discrete
  likelihood. The row adds the FDD of ancestral samples (1000 steps) and of deterministic
  DDIM samples with 20 steps.
* `ddpm-eps`: the same network and budget predicting the noise, DDPM's usual choice, with the
  discretised Gaussian decoder of Ho et al. 2020. On 17 grey levels its bound is poor: the
  steps with little noise, where the data's discreteness decides, cost most.
* `flow-matching`: conditional flow matching with the same U-Net; no likelihood (it would need
  the divergence along the ODE), FDD of samples from 50 midpoint steps and the seconds they
  took (lecture 16 compares them with the latent model's).
* `ddpm-guided`: lecture 11's class-conditional DDPM (T = 250, the class embedded in the
  U-Net, dropped 30% of the time so the same network is also unconditional, for
  classifier-free guidance; Ho & Salimans 2022), 40 epochs; scored like `cgan`: 100
  unguided ancestral samples per class, and how often they are classified as their class.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import (
    N_SAMPLES,
    conditional_digit_quality,
    digit_quality,
    timed_digit_quality,
)
from gmlib.data import DIGITS_LEVELS
from gmlib.diffusion import FlowMatching, GaussianDiffusion
from gmlib.metrics import fdd
from gmlib.nn import UNet

CHANNELS = (32, 64)
EPOCHS = 100


def _trained(make: Callable[[BenchContext], nn.Module]) -> Callable[[BenchContext], nn.Module]:
    def train(ctx: BenchContext) -> nn.Module:
        return ctx.fit(make(ctx), epochs=EPOCHS, lr=2e-3, batch_size=64,
                       patience=ctx.epochs or EPOCHS)
    return train


def ddpm(prediction: str = "levels", shape: tuple[int, ...] = (1, 8, 8),
         n_levels: int = DIGITS_LEVELS) -> GaussianDiffusion:
    """The bench's DDPM: U-Net (32, 64), T = 1000, cosine schedule; 17 grey levels of 8x8
    digits by default."""
    out = n_levels if prediction == "levels" else shape[0]
    return GaussianDiffusion(UNet(shape[0], out, channels=CHANNELS, emb_dim=64), shape,
                             schedule="cosine", timesteps=1000, prediction=prediction,
                             n_levels=n_levels)


def flow_matching_model(ctx: BenchContext) -> FlowMatching:
    """The bench's pixel-space flow matching model: the DDPM's U-Net as velocity."""
    channels = ctx.shape[0]
    return FlowMatching(UNet(channels, channels, channels=CHANNELS, emb_dim=64), ctx.shape,
                        n_levels=ctx.levels)


def _ddpm_levels(ctx: BenchContext) -> GaussianDiffusion:
    return ddpm("levels", ctx.shape, ctx.levels)


def _ddpm_eps(ctx: BenchContext) -> GaussianDiffusion:
    return ddpm("eps", ctx.shape, ctx.levels)


def _bound(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.elbo(x)


def _diffusion_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """Digit quality of ancestral samples, plus the FDD of 20-step DDIM samples."""
    scores = digit_quality(model, ctx)
    ddim = model.sample(N_SAMPLES, steps=20).cpu()
    return {**scores, "fdd_ddim20": fdd(ddim, reference=ctx.test.cpu())}


register(BenchEntry(
    name="ddpm", family="diffusion", track="17-level",
    description="DDPM: U-Net (32, 64) predicting per-pixel logits over the 17 levels, T=1000 "
                "cosine schedule, noise-prediction loss, 100 epochs; test NLL bounded by the "
                "full variational bound (categorical decoder)",
    train=_trained(_ddpm_levels), build=_ddpm_levels, score=_bound,
    quality=_diffusion_quality))
register(BenchEntry(
    name="ddpm-eps", family="diffusion", track="17-level",
    description="the same DDPM predicting the noise eps, discretised Gaussian decoder (Ho et al. "
                "2020); test NLL bounded by the full variational bound",
    train=_trained(_ddpm_eps), build=_ddpm_eps, score=_bound))
register(BenchEntry(
    name="flow-matching", family="diffusion", track="17-level",
    description="conditional flow matching (straight paths) with the same U-Net, 100 epochs; "
                "sample metrics of 1000 samples from 50 midpoint steps vs the test digits",
    train=_trained(flow_matching_model), build=flow_matching_model,
    has_likelihood=False, quality=timed_digit_quality))


GUIDED_EPOCHS = 40


def guided_ddpm(ctx: BenchContext) -> GaussianDiffusion:
    """Lecture 11's conditional DDPM: T = 250, cosine schedule, levels output, 10 classes,
    the label dropped with probability 0.3 (the unconditional model guidance needs)."""
    channels = ctx.shape[0]
    unet = UNet(channels, ctx.levels, channels=CHANNELS, emb_dim=64, n_classes=10)
    return GaussianDiffusion(unet, ctx.shape, schedule="cosine", timesteps=250,
                             prediction="levels", n_levels=ctx.levels, n_classes=10,
                             p_uncond=0.3)


def _train_guided(ctx: BenchContext) -> nn.Module:
    from gmlib.train import fit

    if ctx.train_labels is None:
        raise ValueError("the conditional DDPM needs the training labels")
    model = guided_ddpm(ctx)
    fit(model, (ctx.train, ctx.train_labels), epochs=ctx.epochs or GUIDED_EPOCHS,
        batch_size=ctx.batch_size or 64, lr=2e-3, device=ctx.device, seed=ctx.seed,
        progress=ctx.progress, amp=ctx.amp)
    return model.eval()


register(BenchEntry(
    name="ddpm-guided", family="diffusion", track="17-level",
    description="class-conditional DDPM (T=250, label dropped 30% for classifier-free "
                f"guidance), {GUIDED_EPOCHS} epochs; sample metrics of 100 unguided ancestral "
                "samples per class, and how often they are classified as their class",
    train=_train_guided, build=guided_ddpm, has_likelihood=False,
    quality=conditional_digit_quality))
