"""Bench entries for the normalizing flows (lecture 08).

A flow is a density on the reals, so it models the 17-level digits through dequantisation
noise u in [0, 1)^64: the score is the importance-weighted bound over u with k = 1000 draws,
a lower bound on the discrete log-likelihood (Theis et al. 2016; Ho et al. 2019), and the row
also gives the one-draw ELBO. Every flow starts with `Logit(17)`, so both are in nats of the
17-level data, comparable with the discrete models of lectures 01-07.

* `realnvp`: multi-scale RealNVP, uniform dequantisation;
* `realnvp-vardeq`: the same flow with a learned dequantiser q(u | x) (Flow++);
* `glow`: a two-level Glow with uniform dequantisation.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gmlib.bench.core import IWAE_K, BenchContext, BenchEntry, iwae_score, mean_elbo, register
from gmlib.bench.quality import digit_quality
from gmlib.flows import DequantizedFlow, Flow, Glow, RealNVP, VariationalDequantizer

_PROTOCOL = f"test NLL bounded by IWAE k={IWAE_K} over the dequantisation noise"


def _realnvp(ctx: BenchContext) -> Flow:
    return RealNVP(ctx.shape, n_layers=3, n_scales=2, hidden=32, n_blocks=1, dropout=0.2,
                   logit_bound=ctx.levels)


def _glow(ctx: BenchContext) -> Flow:
    return Glow(ctx.shape, n_scales=2, n_steps=6, hidden=32, n_blocks=1, dropout=0.2,
                logit_bound=ctx.levels, seed=ctx.seed)


def _trained(make_flow: Callable[[BenchContext], Flow], *, epochs: int,
             variational: bool = False) -> Callable[[BenchContext], nn.Module]:
    def train(ctx: BenchContext) -> nn.Module:
        dequantizer = (VariationalDequantizer(ctx.shape, ctx.levels, hidden=32)
                       if variational else None)
        model = DequantizedFlow(make_flow(ctx), ctx.levels, dequantizer=dequantizer)
        model.to(ctx.device).initialize(ctx.train[:512].to(ctx.device))
        return ctx.fit(model, epochs=epochs, lr=2e-3, batch_size=64, patience=20)
    return train


def _register(name: str, description: str, train: Callable[[BenchContext], nn.Module]) -> None:
    register(BenchEntry(name=name, family="flow", track="17-level",
                        description=f"{description}; {_PROTOCOL}", train=train, score=iwae_score,
                        elbo=mean_elbo, quality=digit_quality))


_register("realnvp", "RealNVP: 2 scales, 3 checkerboard + 3 channel affine couplings per "
          "scale, ActNorm, residual conv conditioners (32 channels, dropout 0.2), uniform "
          "dequantisation", _trained(_realnvp, epochs=60))
_register("realnvp-vardeq", "the same RealNVP with variational dequantisation (a 4-coupling "
          "conditional flow q(u | x))", _trained(_realnvp, epochs=45, variational=True))
_register("glow", "Glow: 2 levels of 6 steps (ActNorm, 1x1 conv, affine coupling), 32 "
          "channels, dropout 0.2, uniform dequantisation", _trained(_glow, epochs=70))
