"""Bench entries of lecture 17: masked diffusion, and a few-step flow.

* `masked-diffusion`: absorbing-state diffusion on the 17 grey levels (`gmlib.diffusion.
  MaskedDiffusion`) with a residual convolutional denoiser, 40 epochs, cosine learning rate.
  Its test NLL is the continuous-time bound (MDLM), computed in its count form: for every
  number m = 1..64 of hidden pixels, one random set of m hidden pixels per image, so an
  unbiased estimate with little variance. Samples unmask one pixel a step (64 steps, the
  model's exact sampler); the extras add the FDD of 16 and 4 steps (4 and 16 pixels a step).
* `reflow`: rectified flow (Liu et al. 2023): the `flow-matching` entry's model as teacher,
  5 (noise, sample) pairs per training image (5000 for the digits) from its ODE (25
  midpoint steps), then the teacher's network trained further on the coupled pairs. Sample
  metrics of 1 Euler step (one network evaluation); the extras add 2 and 4 Euler steps.
  Its training time includes the teacher's.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.diffusion import EPOCHS as TEACHER_EPOCHS
from gmlib.bench.diffusion import flow_matching_model
from gmlib.bench.quality import N_SAMPLES, digit_quality, fdd_of_samplers, sample_report
from gmlib.diffusion.fast import Reflow, reflow_pairs
from gmlib.diffusion.masked import MaskedConvDenoiser, MaskedDiffusion

__all__ = ["masked_diffusion", "reflow_student"]

MASKED_EPOCHS = 40
# (noise, sample) pairs per training image: 5000 pairs for the 1000 digits
PAIRS_PER_IMAGE, REFLOW_EPOCHS = 5, 12


def masked_diffusion(ctx: BenchContext) -> MaskedDiffusion:
    """The untrained masked diffusion model for the track's images."""
    net = MaskedConvDenoiser(ctx.shape, ctx.levels, channels=64, n_blocks=4, dropout=0.1)
    return MaskedDiffusion(net, ctx.shape, ctx.levels)


def _train_masked(ctx: BenchContext) -> nn.Module:
    return ctx.fit(masked_diffusion(ctx), epochs=MASKED_EPOCHS, lr=2e-3, batch_size=64,
                   weight_decay=1e-2, lr_schedule="cosine")


def _masked_bound(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.elbo(x)


def _masked_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    fewer_steps = {f"fdd_steps{steps}": {"steps": steps} for steps in (16, 4)}
    return {**digit_quality(model, ctx), **fdd_of_samplers(model, ctx, fewer_steps)}


register(BenchEntry(
    name="masked-diffusion", family="diffusion", track="17-level",
    description=f"masked (absorbing-state) diffusion, residual conv denoiser (64 channels, 4 "
                f"blocks), {MASKED_EPOCHS} epochs; test NLL bounded by the continuous-time "
                "bound (count form, one mask per size); samples unmask one pixel a step",
    train=_train_masked, build=masked_diffusion, score=_masked_bound,
    quality=_masked_quality))


def reflow_student(ctx: BenchContext) -> nn.Module:
    """The untrained student: the pixel flow-matching network."""
    return flow_matching_model(ctx)


def _train_reflow(ctx: BenchContext) -> nn.Module:
    teacher = ctx.fit(flow_matching_model(ctx), epochs=TEACHER_EPOCHS, lr=2e-3, batch_size=64,
                      patience=ctx.epochs or TEACHER_EPOCHS)
    generator = torch.Generator().manual_seed(ctx.seed)
    noise, ends = reflow_pairs(teacher, PAIRS_PER_IMAGE * len(ctx.train), steps=25,
                               method="midpoint", generator=generator)
    student = copy.deepcopy(teacher)  # Liu et al. start the student from the teacher
    from gmlib.train import fit

    fit(Reflow(student), (ends, noise), epochs=ctx.epochs or REFLOW_EPOCHS,
        batch_size=ctx.batch_size or 64, lr=5e-4, device=ctx.device, seed=ctx.seed,
        progress=ctx.progress, amp=ctx.amp)
    return student.eval()


def _reflow_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    one_step = sample_report(model.sample(N_SAMPLES, steps=1, method="euler"), ctx)
    more_steps = {f"fdd_euler{steps}": {"steps": steps, "method": "euler"} for steps in (2, 4)}
    return {**one_step, **fdd_of_samplers(model, ctx, more_steps)}


register(BenchEntry(
    name="reflow", family="diffusion", track="17-level",
    # on the 1000 training digits: the row's text names their number of pairs
    description=f"rectified flow: the flow-matching model retrained on "
                f"{PAIRS_PER_IMAGE * 1000} (noise, sample) pairs of its own ODE, "
                f"{REFLOW_EPOCHS} epochs (time includes the teacher's); sample metrics of "
                "one Euler step",
    train=_train_reflow, build=reflow_student, has_likelihood=False,
    quality=_reflow_quality))
