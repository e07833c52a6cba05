"""Plain fully connected and small convolutional networks for the latent-variable models.

`MLP` is the workhorse of the VAE encoders and decoders; `ConvDecoderNet` maps a vector to a
small image with a transposed convolution, the shape of the DCGAN generator (Radford et al.
2016) scaled down to 8x8 digits. Both take and return plain tensors: the distribution built
on their outputs is the job of `gmlib.vae`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from torch import Tensor, nn

__all__ = ["MLP", "ConvDecoderNet"]


def _hidden_sizes(hidden_sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(hidden_sizes)
    if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in sizes):
        raise ValueError(f"hidden_sizes must be positive ints, such as (256, 256); got {sizes!r}")
    return sizes


class MLP(nn.Sequential):
    """Linear -> activation -> dropout, repeated, then a final linear layer.

    Args:
        in_features: size of the input vector.
        hidden_sizes: width of each hidden layer; () gives a single linear map.
        out_features: size of the output vector.
        activation: a module factory, `nn.ReLU` by default.
        dropout: dropout probability after every hidden activation.

    Shapes:
        x: (..., in_features) -> (..., out_features)
    """

    def __init__(self, in_features: int, hidden_sizes: Sequence[int], out_features: int, *,
                 activation: Callable[[], nn.Module] = nn.ReLU, dropout: float = 0.0) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        layers: list[nn.Module] = []
        width = in_features
        for hidden in _hidden_sizes(hidden_sizes):
            layers += [nn.Linear(width, hidden), activation()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)
        self.in_features, self.out_features = in_features, out_features


class ConvDecoderNet(nn.Module):
    """Vector -> image: an MLP to a (channels, H/2, W/2) map, a stride-2 transposed
    convolution to (channels, H, W), a 3x3 convolution, and a 3x3 output convolution.

    The convolutions share weights across positions, so the decoder needs far fewer
    parameters than an MLP with one output per pixel and level, which matters with 1000
    training images.

    Args:
        in_features: size of the input vector (latent size, plus any context).
        out_channels: values per pixel (e.g. 2 for a location and a scale).
        image_size: (H, W), both even.
        channels, hidden: widths of the feature maps and of the MLP's hidden layer.
        dropout: dropout probability after the MLP and the transposed convolution.

    Shapes:
        z: (B, in_features) -> (B, out_channels, H, W)
    """

    def __init__(self, in_features: int, out_channels: int, image_size: Sequence[int] = (8, 8),
                 *, channels: int = 32, hidden: int = 256, dropout: float = 0.0,
                 activation: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__()
        height, width = (int(s) for s in image_size)
        if height % 2 or width % 2:
            raise ValueError(f"image_size must be even, such as (8, 8); got {tuple(image_size)}")
        self.seed_shape = (channels, height // 2, width // 2)
        self.mlp = nn.Sequential(
            MLP(in_features, (hidden,), math.prod(self.seed_shape), activation=activation,
                dropout=dropout),
            activation())
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1), activation(),
            nn.Dropout(dropout), nn.Conv2d(channels, channels, 3, padding=1), activation(),
            nn.Conv2d(channels, out_channels, 3, padding=1))
        self.in_features, self.out_channels = in_features, out_channels

    def forward(self, z: Tensor) -> Tensor:
        h = self.mlp(z).view(-1, *self.seed_shape)  # (B, C, H/2, W/2)
        return self.conv(h)  # (B, out_channels, H, W)
