"""Convolutions that only look at the past: PixelCNN's masked 2-D convolution and WaveNet's
dilated causal 1-D convolution.

References:
    van den Oord, Kalchbrenner, Kavukcuoglu (2016), Pixel Recurrent Neural Networks,
    https://arxiv.org/abs/1601.06759 (masks A and B);
    van den Oord et al. (2016), WaveNet: A Generative Model for Raw Audio,
    https://arxiv.org/abs/1609.03499 (dilated causal convolutions).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CausalConv1d", "MaskedConv2d", "pixelcnn_mask"]


def pixelcnn_mask(kernel_size: int, mask_type: str) -> Tensor:
    """The (k, k) 0/1 mask of a PixelCNN convolution for single-channel images.

    In raster order a pixel may see the rows above it and, in its own row, the pixels to its
    left. Mask "A" (first layer) also hides the centre, the pixel being predicted; mask "B"
    (later layers) keeps the centre, which by then holds features of the past only.
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B'; got {mask_type!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int; got {kernel_size!r}")
    mask = torch.ones(kernel_size, kernel_size)
    centre = kernel_size // 2
    mask[centre, centre + (mask_type == "B"):] = 0
    mask[centre + 1:] = 0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same' 2-D convolution whose kernel is masked as in PixelCNN (type A or B).

    Shapes:
        x: (B, C_in, H, W) -> (B, C_out, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 mask_type: str) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.mask_type = mask_type
        self.register_buffer("mask", pixelcnn_mask(kernel_size, mask_type))

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class CausalConv1d(nn.Conv1d):
    """A dilated 1-D convolution whose output at time t sees inputs t, t-d, ..., t-(k-1)d.

    Padding only on the left keeps the length and the causality.

    Shapes:
        x: (B, C_in, T) -> (B, C_out, T)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 2,
                 dilation: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (self.left_padding, 0)))
