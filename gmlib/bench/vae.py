"""Bench entries for the variational autoencoders (lecture 07).

Every VAE is trained with `gmlib.train.fit` on the training split, early-stopped on the
validation split's loss, and scored on the test split with the importance-weighted bound of
k = 1000 samples (Burda et al. 2016), a lower bound on log p(x) that is far tighter than the
ELBO, which the row reports too. The three 17-level entries add one ingredient at a time:

* `vae`: MLP encoder and decoder, free 17-way categorical pixels (Tomczak's VAE example);
* `vae-logistic-conv`: discretised logistic pixels and a convolutional decoder;
* `iwae-logistic-conv`: the same model trained on the k = 4 importance-weighted bound.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gmlib.bench.core import IWAE_K, BenchContext, BenchEntry, iwae_score, mean_elbo, register
from gmlib.bench.quality import digit_quality
from gmlib.vae import build_vae


def _builder(build: dict[str, object]) -> Callable[[BenchContext], nn.Module]:
    def make(ctx: BenchContext) -> nn.Module:
        return build_vae(ctx.shape, n_levels=ctx.levels, dropout=0.2, **build)
    return make


def _trained(make: Callable[[BenchContext], nn.Module], *,
             epochs: int) -> Callable[[BenchContext], nn.Module]:
    def train(ctx: BenchContext) -> nn.Module:
        return ctx.fit(make(ctx), epochs=epochs, lr=1e-3, batch_size=64, patience=20)
    return train


_PROTOCOL = f"test NLL bounded by IWAE k={IWAE_K}"


def _register(name: str, track: str, description: str, epochs: int, **build: object) -> None:
    """One VAE entry: `build_vae(shape, n_levels, dropout=0.2, **build)` trained for
    `epochs` (the shape and levels are the data's)."""
    make = _builder(build)
    register(BenchEntry(
        name=name, family="vae", track=track, description=f"{description}; {_PROTOCOL}",
        train=_trained(make, epochs=epochs), build=make, score=iwae_score, elbo=mean_elbo,
        quality=digit_quality if track == "17-level" else None))


_register("vae", "17-level", "VAE: MLP encoder/decoder (256, 256), 16 latents, free 17-way "
          "categorical pixels, N(0, I) prior, dropout 0.2", 300, likelihood="categorical")
_register("vae-logistic-conv", "17-level", "VAE: discretised-logistic pixels, convolutional "
          "decoder, 16 latents, dropout 0.2", 300, likelihood="logistic", decoder="conv")
_register("iwae-logistic-conv", "17-level", "the same VAE trained on the k=4 importance-"
          "weighted bound (IWAE)", 130, likelihood="logistic", decoder="conv", train_k=4)
_register("vae-binary", "binary", "VAE: MLP (256, 256), 16 latents, Bernoulli pixels, "
          "dropout 0.2", 300, likelihood="bernoulli")
