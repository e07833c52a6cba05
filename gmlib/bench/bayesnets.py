"""Bench entries for Bayesian networks fitted by counting (lectures 01-02).

A Markov chain over the pixels in raster order, p(x) = prod_i p(x_i | x_{i-m}, ..., x_{i-1}),
is the simplest network that captures pixel dependencies. The order m and the pseudo-count are
chosen on the validation split: too small an order misses strokes, too large a one has tables
with more entries than the data can fill (lecture 01 plots the trade-off). Orders whose
tables would exceed MAX_TABLE_ENTRIES are skipped (on 256-level MNIST only order 0 fits).
"""

from __future__ import annotations

from torch import Tensor, nn

from gmlib.bayesnet import DiscreteBayesNet
from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import digit_quality
from gmlib.discrete import markov_chain_structure

ALPHAS = (0.1, 0.25, 0.5, 1.0)
# the most table entries we try: an order-m chain of D pixels with K levels has D K^(m+1)
MAX_TABLE_ENTRIES = 2**25


def _markov_chain(ctx: BenchContext, orders: range) -> nn.Module:
    train, val = ctx.train.flatten(1).to(ctx.device), ctx.val.flatten(1).to(ctx.device)
    names = [f"pixel{i}" for i in range(train.shape[1])]
    n_levels = ctx.levels
    fitting = [m for m in orders if len(names) * n_levels ** (m + 1) <= MAX_TABLE_ENTRIES]
    best, best_nll = None, float("inf")
    for order in fitting:
        for alpha in ALPHAS:
            net = DiscreteBayesNet(markov_chain_structure(names, order), n_levels, alpha=alpha)
            net = net.to(ctx.device).fit(train)
            val_nll = float(-net.log_prob(val).mean())
            if val_nll < best_nll:
                best, best_nll = net, val_nll
    return best


def _score(net: nn.Module, x: Tensor) -> Tensor:
    return net.log_prob(x.flatten(1))  # the network's variables are the 64 raster-order pixels


register(BenchEntry(
    name="markov-chain", family="bayesnet", track="17-level",
    description="raster-order Markov chain of pixels, order (0-2) and add-alpha chosen on val",
    train=lambda ctx: _markov_chain(ctx, range(3)), score=_score,
    quality=digit_quality, fast=True))
register(BenchEntry(
    name="markov-chain-binary", family="bayesnet", track="binary",
    description="raster-order Markov chain of binary pixels, order (0-12) and add-alpha on val",
    train=lambda ctx: _markov_chain(ctx, range(13)), score=_score, fast=True))
