"""A small residual convolutional network: the conditioner of the image flows' couplings.

Coupling layers (Dinh et al. 2017) may use any network to predict their scales and shifts;
a stack of 3x3 residual blocks at full resolution is what RealNVP and Glow use, scaled down
here to 8x8 digits. The output convolution starts at zero when `zero_output=True`, so a
coupling built on it starts as the identity map (Kingma & Dhariwal 2018).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ResidualConvNet"]


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(), nn.Dropout(dropout), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResidualConvNet(nn.Module):
    """3x3 conv -> residual blocks -> ReLU -> 3x3 conv, at constant spatial size.

    Args:
        in_channels: channels of the input map.
        hidden: channels inside the network.
        out_channels: channels of the output map.
        n_blocks: residual blocks (two 3x3 convolutions each).
        dropout: dropout inside each block.
        zero_output: start the output convolution at zero (an identity coupling).

    Shapes:
        x: (B, in_channels, H, W) -> (B, out_channels, H, W)
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, *, n_blocks: int = 1,
                 dropout: float = 0.0, zero_output: bool = True) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1),
            *(_ResidualBlock(hidden, dropout) for _ in range(n_blocks)),
            nn.ReLU(),
            nn.Conv2d(hidden, out_channels, 3, padding=1))
        if zero_output:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
