"""Bench entries for the baselines every model must beat (no pixel dependencies at all)."""

from __future__ import annotations

from torch import nn

from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import digit_quality
from gmlib.independent import IndependentBernoulli, IndependentCategorical, UniformCategorical


def _uniform(ctx: BenchContext) -> nn.Module:
    return UniformCategorical(ctx.shape, ctx.levels).to(ctx.device)


def _independent_categorical(ctx: BenchContext) -> nn.Module:
    model = IndependentCategorical(ctx.shape, ctx.levels, alpha=0.5)
    return model.to(ctx.device).fit(ctx.train.to(ctx.device))


def _independent_bernoulli(ctx: BenchContext) -> nn.Module:
    return IndependentBernoulli(ctx.shape, alpha=0.5).to(ctx.device).fit(
        ctx.train.to(ctx.device))


register(BenchEntry(
    name="uniform", family="baseline", track="17-level",
    description="uniform over the 17 grey levels: 64 ln 17 nats, no training",
    train=_uniform, quality=digit_quality, fast=True))
register(BenchEntry(
    name="independent-categorical", family="baseline", track="17-level",
    description="independent per-pixel categoricals, add-0.5 counts on train",
    train=_independent_categorical, quality=digit_quality, fast=True))
register(BenchEntry(
    name="independent-bernoulli", family="baseline", track="binary",
    description="independent per-pixel Bernoullis on binarised digits, add-0.5 counts",
    train=_independent_bernoulli, fast=True))
