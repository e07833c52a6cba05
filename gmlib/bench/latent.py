"""Bench entries for the latent-variable models fitted by EM (lectures 03-04).

Continuous densities (Gaussian mixtures, PPCA, factor analysis) are fitted to uniformly
dequantised digits, x + u with u ~ U[0, 1)^64 (five noise draws per training image), and
scored by `dequantized_log_likelihood`, a lower bound on the discrete log-likelihood: their
NLLs are upper bounds, comparable with the exact NLLs of the discrete models. The Bernoulli
mixture is exact on the binarised track. Sizes and regularisation are chosen on the
validation split, never on the test split.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import dequantised_digit_quality
from gmlib.data import uniform_dequantize
from gmlib.exceptions import ConvergenceWarning
from gmlib.linear import PPCA, FactorAnalysis
from gmlib.metrics import dequantized_log_likelihood
from gmlib.mixtures import BernoulliMixture, GaussianMixture

NOISE_COPIES = 5  # dequantisation draws per training image
SCORE_DRAWS = 32  # importance samples of the test bound (k = 1 is the plain bound)


def _dequantised(x: Tensor, copies: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    flat = x.flatten(1).double()
    return torch.cat([uniform_dequantize(flat, generator=gen) for _ in range(copies)])


def _select(candidates: Iterable[Callable[[], nn.Module]], fit_data: Tensor,
            score: Callable[[nn.Module], float]) -> nn.Module:
    """Fit every candidate; keep the one with the best validation score."""
    best, best_score = None, -float("inf")
    for make in candidates:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # judged on val, not on tol
            model = make().fit(fit_data)
        value = score(model)
        if value > best_score:
            best, best_score = model, value
    return best


def _continuous(ctx: BenchContext, candidates: Iterable[Callable[[], nn.Module]]) -> nn.Module:
    train = _dequantised(ctx.train, NOISE_COPIES, ctx.seed).to(ctx.device)
    val = _dequantised(ctx.val, 1, ctx.seed + 1).to(ctx.device)
    return _select(candidates, train, lambda m: m.score(val))


def _dequantised_score(model: nn.Module, x: Tensor) -> Tensor:
    return dequantized_log_likelihood(model.log_prob, x.flatten(1).double(),
                                      n_samples=SCORE_DRAWS)


def _gmm(ctx: BenchContext) -> nn.Module:
    grid = itertools.product((1, 2, 3, 4, 6), (0.01, 0.1))
    return _continuous(ctx, [lambda k=k, r=r: GaussianMixture(
        k, reg_covar=r, random_state=ctx.seed) for k, r in grid])


def _ppca(ctx: BenchContext) -> nn.Module:
    return _continuous(ctx, [lambda q=q: PPCA(q) for q in (10, 20, 30, 40, 50, 60)])


def _factor_analysis(ctx: BenchContext) -> nn.Module:
    return _continuous(ctx, [lambda q=q: FactorAnalysis(q) for q in (5, 10, 20)])


def _bernoulli_mixture(ctx: BenchContext) -> nn.Module:
    train, val = ctx.train.flatten(1).to(ctx.device), ctx.val.flatten(1).to(ctx.device)
    # no more components than training images (a tiny data set gets the smaller sizes)
    grid = itertools.product([k for k in (10, 20, 40) if k <= len(train)] or [len(train)],
                             (0.5, 1.0))
    return _select([lambda k=k, a=a: BernoulliMixture(k, alpha=a, random_state=ctx.seed)
                    for k, a in grid], train, lambda m: m.score(val))


register(BenchEntry(
    name="gmm", family="mixture", track="17-level",
    description="Gaussian mixture, full covariances, by EM on dequantised digits; K (1-6) and "
                f"reg_covar on val; test bound with {SCORE_DRAWS} dequantisation draws",
    train=_gmm, score=_dequantised_score, quality=dequantised_digit_quality,
    fast=True))
register(BenchEntry(
    name="bernoulli-mixture", family="mixture", track="binary",
    description="mixture of independent Bernoullis by EM; K (10-40) and pseudo-count on val",
    train=_bernoulli_mixture, score=lambda m, x: m.log_prob(x.flatten(1)), fast=True))
register(BenchEntry(
    name="ppca", family="linear", track="17-level",
    description="probabilistic PCA (closed form) on dequantised digits; q (10-60) on val; "
                f"test bound with {SCORE_DRAWS} dequantisation draws",
    train=_ppca, score=_dequantised_score, quality=dequantised_digit_quality,
    fast=True))
register(BenchEntry(
    name="factor-analysis", family="linear", track="17-level",
    description="factor analysis by EM on dequantised digits; q (5-20) on val; "
                f"test bound with {SCORE_DRAWS} dequantisation draws",
    train=_factor_analysis, score=_dequantised_score, quality=dequantised_digit_quality,
    fast=True))
