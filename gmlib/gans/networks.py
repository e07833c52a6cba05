"""Generators and discriminators for 2-D toys (MLPs) and 8x8 digits (DCGAN-style convnets).

Every network takes an optional `context` vector (B, context_dim), concatenated to its input,
which is how the conditional GAN and InfoGAN's codes enter. A discriminator returns one raw
score per example (a logit, or a critic value for WGAN) and exposes `features(x, context)`,
its last hidden layer, for InfoGAN's Q head. Digit generators end in 16 * sigmoid, so their
samples live on the 0..16 grey scale of `gmlib.data.digits`; digit discriminators rescale
their input to [-1, 1] first.

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


class DCGANGenerator(nn.Module):
    """z -> linear to (2w, 4, 4) -> BatchNorm, ReLU -> stride-2 transposed conv to (w, 8, 8)
    -> BatchNorm, ReLU -> 3x3 conv to one channel -> 16 * sigmoid (DCGAN scaled to 8x8).

    Shapes:
        z: (B, latent_dim), context: (B, context_dim) -> (B, 1, 8, 8) in [0, 16]
    """

    def __init__(self, latent_dim: int, *, width: int = 64, context_dim: int = 0) -> None:
        super().__init__()
        self.latent_dim, self.context_dim, self.width = latent_dim, context_dim, width
        self.project = nn.Sequential(nn.Linear(latent_dim + context_dim, 2 * width * 16),
                                     nn.BatchNorm1d(2 * width * 16), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),  # (B, w, 8, 8)
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        h = self.project(_with_context(z, context, self.context_dim))
        h = h.reshape(-1, 2 * self.width, 4, 4)  # (B, 2w, 4, 4)
        return GREY_LEVELS * torch.sigmoid(self.upsample(h))


class DCGANDiscriminator(nn.Module):
    """x/8 - 1 (and context channels) -> two stride-2 4x4 convs with LeakyReLU(0.2)
    (8x8 -> 4x4 -> 2x2) -> linear score. No batch norm, so it also serves as a WGAN-GP critic
    (the gradient penalty is per example).

    Shapes:
        x: (B, 1, 8, 8), context: (B, context_dim) -> (B,)
    """

    def __init__(self, *, width: int = 64, context_dim: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.context_dim = context_dim
        self.body = nn.Sequential(
            nn.Conv2d(1 + context_dim, width, 4, stride=2, padding=1),  # (B, w, 4, 4)
            nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),  # (B, 2w, 2, 2)
            nn.LeakyReLU(0.2), nn.Dropout(dropout), nn.Flatten())
        self.feature_dim = 8 * width
        self.head = nn.Linear(self.feature_dim, 1)

    def features(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        x = x / (GREY_LEVELS / 2) - 1
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
