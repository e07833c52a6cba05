"""Progressive growing (Karras et al. 2018) for the 8x8 digits: a 4x4 GAN, then a faded-in
8x8 layer on both players.

The generator computes features at 4x4. At the 4x4 stage (alpha = 0) a 1x1 convolution turns
them into a 4x4 image, which is upsampled (nearest neighbour) to 8x8; the discriminator then
looks only at the 2x2-average-pooled input, so the pair is exactly a 4x4 GAN (average pooling
undoes the nearest-neighbour upsampling). Growing adds a transposed convolution to 8x8 in the
generator and a strided convolution from 8x8 in the discriminator; during the fade-in both
outputs blend the old path and the new one,

    G(z) = (1 - alpha) upsample(G_4(z)) + alpha G_8(z),
    D(x) = D_body((1 - alpha) from_image_4(pool(x)) + alpha shrink(from_image_8(x))),

with alpha raised linearly from 0 to 1, so a new layer starts as a small perturbation of a
network that already works. At alpha = 1 the old 4x4 output is no longer used. The paper's
other devices (equalised learning rate, pixel normalisation, minibatch standard deviation)
are left out: the fade-in is the idea taught here.

References:
    Karras et al. 2018, Progressive growing of GANs for improved quality, stability, and
    variation, https://arxiv.org/abs/1710.10196 (section 2 and Figure 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.functional import avg_pool2d, interpolate

from gmlib.gans.model import GAN
from gmlib.gans.trainer import GANHistory, train_gan
from gmlib.validation import check_int

__all__ = ["ProgressiveDiscriminator", "ProgressiveGAN", "ProgressiveGenerator",
           "fade_in_alpha", "train_progressive"]

_SHAPE = (1, 8, 8)


class _Faded(nn.Module):
    """Holds the fade-in weight alpha in [0, 1] as a buffer (saved with the weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("alpha", torch.zeros(()))

    def set_alpha(self, alpha: float) -> None:
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
        self.alpha.fill_(float(alpha))


class ProgressiveGenerator(_Faded):
    """z -> linear to (2w, 4, 4), BatchNorm, ReLU -> a 4x4 image (1x1 conv) and, once grown,
    an 8x8 one (stride-2 transposed conv to (w, 8, 8), BatchNorm, ReLU, 3x3 conv); images
    are (K - 1) * sigmoid, on the data's grey scale.

    Shapes:
        z: (B, latent_dim) -> (B, 1, 8, 8); `low_resolution(z)` -> (B, 1, 4, 4)
    """

    def __init__(self, latent_dim: int, *, width: int = 16, n_levels: int = 17) -> None:
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        width = check_int(width, "width", minimum=1)
        self.top = float(n_levels - 1)
        self.seed_shape = (2 * width, 4, 4)
        self.project = nn.Sequential(nn.Linear(latent_dim, 2 * width * 16),
                                     nn.BatchNorm1d(2 * width * 16), nn.ReLU())
        self.to_image_low = nn.Conv2d(2 * width, 1, 1)
        self.grow = nn.Sequential(nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.to_image_high = nn.Conv2d(width, 1, 3, padding=1)

    def _features(self, z: Tensor, context: Tensor | None) -> Tensor:
        if context is not None:
            raise ValueError("ProgressiveGenerator is unconditional and takes no context")
        return self.project(z).reshape(-1, *self.seed_shape)

    def low_resolution(self, z: Tensor) -> Tensor:
        """The 4x4 stage's image, (B, 1, 4, 4)."""
        return self.top * torch.sigmoid(self.to_image_low(self._features(z, None)))

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        h = self._features(z, context)
        low = interpolate(self.top * torch.sigmoid(self.to_image_low(h)), scale_factor=2,
                          mode="nearest")
        if float(self.alpha) == 0.0:  # the 4x4 stage: the new layer is not run at all
            return low
        high = self.top * torch.sigmoid(self.to_image_high(self.grow(h)))
        return torch.lerp(low, high, self.alpha)


class ProgressiveDiscriminator(_Faded):
    """x / ((K - 1) / 2) - 1 -> 4x4 features: from the pooled image by a 1x1 conv, blended,
    once grown, with a 1x1 conv at 8x8 and a stride-2 4x4 conv -> a stride-2 conv to 2x2
    -> linear score. LeakyReLU(0.2), no batch norm (a WGAN-GP critic as well).

    Shapes:
        x: (B, 1, 8, 8) -> (B,)
    """

    def __init__(self, *, width: int = 16, n_levels: int = 17) -> None:
        super().__init__()
        width = check_int(width, "width", minimum=1)
        self.half = (n_levels - 1) / 2
        self.from_image_low = nn.Sequential(nn.Conv2d(1, 2 * width, 1), nn.LeakyReLU(0.2))
        self.from_image_high = nn.Sequential(nn.Conv2d(1, width, 1), nn.LeakyReLU(0.2))
        self.shrink = nn.Sequential(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
                                    nn.LeakyReLU(0.2))
        self.body = nn.Sequential(nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1),
                                  nn.LeakyReLU(0.2), nn.Flatten())
        self.feature_dim = 4 * width * 4
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        if context is not None:
            raise ValueError("ProgressiveDiscriminator is unconditional and takes no context")
        if tuple(x.shape[1:]) != _SHAPE:
            raise ValueError(f"x must have shape (B, 1, 8, 8); got {tuple(x.shape)}")
        x = x / self.half - 1
        h = self.from_image_low(avg_pool2d(x, 2))
        if float(self.alpha) > 0.0:
            h = torch.lerp(h, self.shrink(self.from_image_high(x)), self.alpha)
        return self.body(h)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, context)).squeeze(1)


class ProgressiveGAN(GAN):
    """A GAN of a `ProgressiveGenerator` and a `ProgressiveDiscriminator` that share alpha.

    Shapes:
        sample(n) -> (n, 1, 8, 8); sample_low_resolution(n) -> (n, 1, 4, 4)
    """

    def __init__(self, latent_dim: int = 32, *, width: int = 16, **kwargs: Any) -> None:
        super().__init__(ProgressiveGenerator(latent_dim, width=width),
                         ProgressiveDiscriminator(width=width), latent_dim, _SHAPE, **kwargs)

    @property
    def alpha(self) -> float:
        return float(self.generator.alpha)

    def set_alpha(self, alpha: float) -> None:
        """Set the fade-in weight of both players (0: the 4x4 stage, 1: fully grown)."""
        self.generator.set_alpha(alpha)
        self.discriminator.set_alpha(alpha)

    @torch.no_grad()
    def sample_low_resolution(self, n: int) -> Tensor:
        """n images of the 4x4 stage, whatever alpha is now."""
        return self.generator.low_resolution(self.sample_latent(n))


def fade_in_alpha(step: int, low_steps: int, fade_steps: int) -> float:
    """alpha after `step` generator steps: 0 for the first `low_steps`, then linear to 1
    over `fade_steps` (1 at once when `fade_steps` is 0)."""
    if step < low_steps:
        return 0.0
    return 1.0 if fade_steps == 0 else min(1.0, (step - low_steps) / fade_steps)


def train_progressive(model: ProgressiveGAN, data: Tensor, *, low_steps: int, fade_steps: int,
                      high_steps: int,
                      callback: Callable[[int, nn.Module, GANHistory], None] | None = None,
                      callback_every: int = 100, **options: Any) -> GANHistory:
    """Train at 4x4 for `low_steps`, fade the 8x8 layers in over `fade_steps`, then train
    the grown pair for `high_steps` (one `train_gan` run, so one optimiser per player and
    one step-size schedule; `options` go to `train_gan`). `low_steps = fade_steps = 0` is
    the same network trained at 8x8 from the start.
    """
    if not isinstance(model, ProgressiveGAN):
        raise TypeError(f"train_progressive needs a ProgressiveGAN; got {type(model).__name__}")
    for value, name in ((low_steps, "low_steps"), (fade_steps, "fade_steps"),
                        (high_steps, "high_steps")):
        check_int(value, name, minimum=0)
    steps = low_steps + fade_steps + high_steps
    model.set_alpha(fade_in_alpha(0, low_steps, fade_steps))

    def schedule(step: int, m: nn.Module, history: GANHistory) -> None:
        model.set_alpha(fade_in_alpha(step, low_steps, fade_steps))
        if callback is not None and step % callback_every == 0:
            callback(step, m, history)

    return train_gan(model, data, steps=steps, callback=schedule, callback_every=1, **options)

