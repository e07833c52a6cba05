"""Bench entries for the GANs (lecture 09), and the real-data floor of the sample metrics.

GANs have no likelihood: their rows report sample quality instead (`gmlib.bench.quality`).

* `real-data-floor`: the 1000 training digits themselves, scored like a model's 1000 samples.
  Their FDD against the test digits is the floor no model should be expected to beat.
* `dcgan`: a DCGAN (non-saturating loss) on the 17-level digits.
* `cgan`: the same networks conditioned on the class label (Mirza & Osindero 2014); the row
  adds how often its samples are classified as the label they were drawn for.
* `infogan`: a DCGAN with a 10-way categorical and 2 continuous codes (Chen et al. 2016); the
  row adds the purity of the categorical code on the test digits.
* `gan-ring-collapse` / `gan-ring-ttur`: MLP GANs on the ring of 8 Gaussians. The first
  lets the generator learn 10x faster than the discriminator and collapses, hopping from mode
  to mode; the second gives the discriminator the larger step size (the two time-scale rule
  of Heusel et al. 2017), trains longer and decays both step sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from gmlib.base import ImplicitModel, Support
from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import (
    conditional_digit_quality,
    digit_quality,
    infogan_quality,
    ring_quality,
)
from gmlib.gans import (
    GAN,
    ConditionalGAN,
    DCGANDiscriminator,
    DCGANGenerator,
    InfoGAN,
    MLPDiscriminator,
    MLPGenerator,
    train_gan,
)

LATENT = 32


class TrainingSet(ImplicitModel):
    """The empirical distribution of a data set, as a sampler: draws its rows at random.

    It memorises perfectly, so its sample metrics are the best a model trained on that data
    can hope for; its likelihood of any unseen example is zero, so it has no test NLL.
    """

    def __init__(self, data: Tensor, n_levels: int = 17) -> None:
        super().__init__(tuple(data.shape[1:]), Support.levels(n_levels))
        self.register_buffer("data", data)

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        if n == len(self.data):  # the whole set: the floor's protocol
            return self.data.clone()
        return self.data[torch.randint(len(self.data), (n,), device=self.data.device,
                                       generator=generator)]

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        raise NotImplementedError("a training set is not trained")


def _trained(make: Callable[[BenchContext], nn.Module], labelled: bool = False, *,
             steps: int, batch_size: int, **options: Any) -> Callable[[BenchContext], nn.Module]:
    """A bench `train` function: build the GAN for the data and train it with `train_gan`."""
    def train(ctx: BenchContext) -> nn.Module:
        model = make(ctx)
        data: Tensor | tuple[Tensor, Tensor] = ctx.train
        if labelled:
            if ctx.train_labels is None:
                raise ValueError("a conditional GAN needs the training labels")
            data = (ctx.train, ctx.train_labels)
        batch = ctx.batch_size or batch_size
        history = train_gan(model, data, device=ctx.device, seed=ctx.seed,
                            progress=ctx.progress, steps=ctx.steps(steps, batch),
                            batch_size=batch, **options)
        # the losses per step, stored with the model (gmlib.bench.stored) for lecture 09
        model.train_history = history.as_dict()
        return model.eval()
    return train


def _dcgan(ctx: BenchContext, latent_dim: int = LATENT, context_dim: int = 0) -> tuple[
        DCGANGenerator, DCGANDiscriminator]:
    """A DCGAN pair of width 32 for the data's image shape and levels."""
    image = {"image_shape": ctx.shape, "n_levels": ctx.levels}
    return (DCGANGenerator(latent_dim, width=32, context_dim=context_dim, **image),
            DCGANDiscriminator(width=32, context_dim=context_dim, **image))


_DIGITS = {"batch_size": 64, "lr": 1e-3, "lr_decay": True}
_SAMPLES = "sample metrics of 1000 samples vs the test digits"

register(BenchEntry(
    name="real-data-floor", family="baseline", track="17-level",
    description=f"the 1000 training digits themselves: the floor of the {_SAMPLES}",
    train=lambda ctx: TrainingSet(ctx.train, ctx.levels), has_likelihood=False,
    quality=digit_quality))
def _dcgan_model(ctx: BenchContext) -> GAN:
    return GAN(*_dcgan(ctx), LATENT, ctx.shape)


def _cgan_model(ctx: BenchContext) -> ConditionalGAN:
    return ConditionalGAN(*_dcgan(ctx, context_dim=10), LATENT, ctx.shape, 10)


def _infogan_model(ctx: BenchContext) -> InfoGAN:
    return InfoGAN(*_dcgan(ctx, LATENT + 12), LATENT, ctx.shape)


register(BenchEntry(
    name="dcgan", family="gan", track="17-level",
    description=f"DCGAN (width 32, 32 latents), non-saturating loss, 5000 steps; {_SAMPLES}",
    train=_trained(_dcgan_model, steps=5000, **_DIGITS), build=_dcgan_model,
    has_likelihood=False, quality=digit_quality))
register(BenchEntry(
    name="cgan", family="gan", track="17-level",
    description=f"conditional DCGAN (one-hot labels into G and D), 3000 steps; {_SAMPLES}, "
                "100 per class",
    train=_trained(_cgan_model, labelled=True, steps=3000, **_DIGITS), build=_cgan_model,
    has_likelihood=False, quality=conditional_digit_quality))
register(BenchEntry(
    name="infogan", family="gan", track="17-level",
    description=f"InfoGAN: DCGAN with a 10-way categorical and 2 continuous codes, 4000 "
                f"steps, no labels; {_SAMPLES}; purity of the code on the test digits",
    train=_trained(_infogan_model, steps=4000, **_DIGITS), build=_infogan_model,
    has_likelihood=False, quality=infogan_quality))


def _ring_gan(ctx: BenchContext) -> GAN:
    return GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 2, (2,))


register(BenchEntry(
    name="gan-ring-collapse", family="gan", track="ring-of-8",
    description="MLP GAN (2 latents), discriminator step 1e-4, generator 1e-3, 2000 steps: "
                "mode collapse; modes and high-quality share of 5000 samples",
    train=_trained(_ring_gan, steps=2000, batch_size=256, lr=1e-3, lr_discriminator=1e-4),
    has_likelihood=False, quality=ring_quality))
register(BenchEntry(
    name="gan-ring-ttur", family="gan", track="ring-of-8",
    description="the same GAN with discriminator step 2e-3 (two time-scale rule), 8000 "
                "steps, linear step-size decay; modes and high-quality share of 5000 samples",
    train=_trained(_ring_gan, steps=8000, batch_size=256, lr=1e-3, lr_discriminator=2e-3,
                   lr_decay=True),
    has_likelihood=False, quality=ring_quality))
