"""Generators and discriminators for 2-D toys (MLPs) and images (DCGAN-style convnets).

Every network takes an optional `context` vector (B, context_dim), concatenated to its input,
which is how the conditional GAN and InfoGAN's codes enter. A discriminator returns one raw
score per example (a logit, or a critic value for WGAN) and exposes `features(x, context)`,
its last hidden layer, for InfoGAN's Q head. Image generators end in (K - 1) * sigmoid, so
their samples live on the 0..K-1 grey scale of the data (0..16 for `gmlib.data.digits`);
image discriminators rescale their input to [-1, 1] first. The DCGAN networks take the image
shape and levels of the data: 8x8 digits by default, 28x28 MNIST as well.

References:
    Radford et al. 2016, Unsupervised representation learning with deep convolutional
    generative adversarial networks (DCGAN), https://arxiv.org/abs/1511.06434
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.nn import MLP, ResidualConvNet

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "ImageTranslator", "MLPDiscriminator",
           "MLPGenerator"]

GREY_LEVELS = 16.0


def _with_context(x: Tensor, context: Tensor | None, context_dim: int) -> Tensor:
    """Concatenate a context vector to a flat input (or as constant channels to an image)."""
    if context_dim == 0:
        if context is not None:
            raise ValueError("this network was built with context_dim=0 and takes no context")
        return x
    if context is None or context.shape != (x.shape[0], context_dim):
        got = None if context is None else tuple(context.shape)
        raise ValueError(f"context must have shape ({x.shape[0]}, {context_dim}); got {got}")
    context = context.to(x.dtype)
    if x.dim() == 4:  # broadcast over the pixels, as in the conditional DCGAN
        context = context[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, context], 1)


class MLPGenerator(nn.Module):
    """z (and context) -> MLP -> a point of shape `event_shape` (no output squashing).

    Shapes:
        z: (B, latent_dim), context: (B, context_dim) -> (B, *event_shape)
    """

    def __init__(self, latent_dim: int, event_shape: Sequence[int], *,
                 hidden: Sequence[int] = (128, 128), context_dim: int = 0,
                 grey_levels: bool = False) -> None:
        super().__init__()
        self.latent_dim, self.context_dim = latent_dim, context_dim
        self.event_shape = tuple(event_shape)
        self.grey_levels = grey_levels
        self.net = MLP(latent_dim + context_dim, hidden, int(torch.tensor(event_shape).prod()))

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        out = self.net(_with_context(z, context, self.context_dim))
        if self.grey_levels:  # digits: squash onto the 0..16 grey scale
            out = GREY_LEVELS * torch.sigmoid(out)
        return out.reshape(-1, *self.event_shape)


class MLPDiscriminator(nn.Module):
    """x (flattened, with context) -> MLP with LeakyReLU -> one score per example.

    Shapes:
        x: (B, *event_shape), context: (B, context_dim) -> (B,)
    """

    def __init__(self, in_features: int, *, hidden: Sequence[int] = (128, 128),
                 context_dim: int = 0, input_scale: float = 1.0) -> None:
        super().__init__()
        self.context_dim, self.input_scale = context_dim, input_scale
        self.body = MLP(in_features + context_dim, hidden[:-1], hidden[-1],
                        activation=lambda: nn.LeakyReLU(0.2))
        self.feature_dim = hidden[-1]
        self.head = nn.Linear(hidden[-1], 1)

    def features(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        x = x.flatten(1) / self.input_scale
        return nn.functional.leaky_relu(self.body(_with_context(x, context, self.context_dim)),
                                        0.2)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, context)).squeeze(1)


def _n_upsamplings(image_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """(channels, steps, h0, w0): a DCGAN grows an h0 x w0 seed by `steps` stride-2 layers,
    halving the image while both sides are even and above 4 (8x8: one step from 4x4; 28x28:
    two from 7x7; 32x32: three from 4x4)."""
    if len(image_shape) != 3 or any(int(s) < 1 for s in image_shape):
        raise ValueError(f"image_shape must be (C, H, W), e.g. (1, 8, 8); got "
                         f"{tuple(image_shape)}")
    channels, height, width = (int(s) for s in image_shape)
    steps = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) > 4:
        height, width, steps = height // 2, width // 2, steps + 1
    if steps == 0:
        raise ValueError(f"a DCGAN needs an even image side above 4, such as (1, 8, 8) or "
                         f"(1, 28, 28); got {tuple(image_shape)}")
    return channels, steps, height, width


class DCGANGenerator(nn.Module):
    """z -> linear to (2^s w, h0, w0) -> BatchNorm, ReLU -> s stride-2 transposed convs, each
    halving the channels and doubling the sides (BatchNorm, ReLU) -> 3x3 conv to C channels
    -> (K - 1) * sigmoid, on the grey scale 0..K-1 of the data. For the 8x8 digits (s = 1):
    (2w, 4, 4) -> (w, 8, 8) -> 16 * sigmoid (DCGAN scaled to 8x8).

    Shapes:
        z: (B, latent_dim), context: (B, context_dim) -> (B, C, H, W) in [0, K - 1]
    """

    def __init__(self, latent_dim: int, *, width: int = 64, context_dim: int = 0,
                 image_shape: Sequence[int] = (1, 8, 8), n_levels: int = 17) -> None:
        super().__init__()
        channels, steps, h0, w0 = _n_upsamplings(image_shape)
        self.latent_dim, self.context_dim, self.width = latent_dim, context_dim, width
        self.seed_shape = (2**steps * width, h0, w0)
        self.top = float(n_levels - 1)
        seed_size = self.seed_shape[0] * h0 * w0
        self.project = nn.Sequential(nn.Linear(latent_dim + context_dim, seed_size),
                                     nn.BatchNorm1d(seed_size), nn.ReLU())
        layers: list[nn.Module] = []
        for k in range(steps, 0, -1):  # channels 2^k w -> 2^(k-1) w, sides doubled
            layers += [nn.ConvTranspose2d(2**k * width, 2 ** (k - 1) * width, 4, stride=2,
                                          padding=1),
                       nn.BatchNorm2d(2 ** (k - 1) * width), nn.ReLU()]
        self.upsample = nn.Sequential(*layers, nn.Conv2d(width, channels, 3, padding=1))

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        h = self.project(_with_context(z, context, self.context_dim))
        h = h.reshape(-1, *self.seed_shape)  # (B, 2^s w, h0, w0)
        return self.top * torch.sigmoid(self.upsample(h))


class DCGANDiscriminator(nn.Module):
    """x / ((K - 1) / 2) - 1 (and context channels) -> s + 1 stride-2 4x4 convs with
    LeakyReLU(0.2), doubling the channels (8x8 -> 4x4 -> 2x2 for the digits) -> linear
    score. No batch norm, so it also serves as a WGAN-GP critic (the gradient penalty is per
    example).

    Shapes:
        x: (B, C, H, W), context: (B, context_dim) -> (B,)
    """

    def __init__(self, *, width: int = 64, context_dim: int = 0, dropout: float = 0.0,
                 image_shape: Sequence[int] = (1, 8, 8), n_levels: int = 17) -> None:
        super().__init__()
        channels, steps, _, _ = _n_upsamplings(image_shape)
        self.context_dim = context_dim
        self.half = (n_levels - 1) / 2
        layers: list[nn.Module] = []
        in_ch, height, side = channels + context_dim, int(image_shape[1]), int(image_shape[2])
        for k in range(steps + 1):
            layers += [nn.Conv2d(in_ch, 2**k * width, 4, stride=2, padding=1),
                       nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            in_ch, height, side = 2**k * width, height // 2, side // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.feature_dim = in_ch * height * side  # 8 w for the 8x8 digits
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        x = x / self.half - 1
        return self.body(_with_context(x, context, self.context_dim))

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, context)).squeeze(1)


class ImageTranslator(nn.Module):
    """An image-to-image generator for CycleGAN: residual 3x3 convs at 8x8, 16 * sigmoid.

    Shapes:
        x: (B, 1, 8, 8) in [0, 16] -> (B, 1, 8, 8) in [0, 16]
    """

    def __init__(self, *, width: int = 32, n_blocks: int = 2) -> None:
        super().__init__()
        self.net = ResidualConvNet(1, width, 1, n_blocks=n_blocks, zero_output=False)

    def forward(self, x: Tensor) -> Tensor:
        return GREY_LEVELS * torch.sigmoid(self.net(x / (GREY_LEVELS / 2) - 1))
