"""PixelCNN: masked convolutions over an image, plain (with a blind spot) or gated (without).

Pixels are generated in raster order. A plain PixelCNN stacks a 'type A' masked convolution
(which hides the pixel being predicted) and 'type B' ones (which keep the centre); every
conditional is computed in one pass for all pixels. Stacking masked 3x3 kernels leaves a
*blind spot*: pixels above and to the right of the current one, which it is allowed to see,
never enter its receptive field. The gated PixelCNN fixes this with two stacks: a vertical
stack that sees every row above (its full width) and a horizontal stack that sees the pixels
to the left in the current row, joined by a link from vertical to horizontal that is shifted
down a row. Gated units tanh(a) * sigmoid(b) replace ReLUs.

Images have one channel here (the digits): multi-channel images would also need masks
between the colour channels of one pixel, which this file leaves out.

References:
    van den Oord, Kalchbrenner, Kavukcuoglu (2016), Pixel Recurrent Neural Networks, ICML,
    https://arxiv.org/abs/1601.06759;
    van den Oord et al. (2016), Conditional Image Generation with PixelCNN Decoders,
    NeurIPS, https://arxiv.org/abs/1606.05328
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel, as_event_shape
from gmlib.nn import MaskedConv2d
from gmlib.validation import check_int, check_nonnegative

__all__ = ["PixelCNN"]


def _image_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    shape = as_event_shape(shape, "image_shape")
    if len(shape) == 3 and shape[0] != 1:
        raise ValueError(f"PixelCNN handles one-channel images (1, H, W); got {shape}")
    if len(shape) not in (2, 3):
        raise ValueError(f"image_shape must be (H, W) or (1, H, W); got {shape}")
    return shape


class _GatedLayer(nn.Module):
    """One layer of the gated PixelCNN: vertical and horizontal stacks (Figure 2 of the paper).

    The vertical stack at row i sees input rows <= i (a (k//2+1) x k kernel padded on top);
    the horizontal stack sees pixels j - k//2 .. j of row i, or .. j - 1 in the first layer,
    which must not see the pixel it predicts. The vertical features reach the horizontal stack
    shifted down one row, so pixel (i, j) only gets rows < i from it.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, first: bool,
                 dropout: float, blind_spot: bool = False) -> None:
        super().__init__()
        self.first, self.half = first, kernel_size // 2
        self.v_conv = nn.Conv2d(in_channels, 2 * channels, (self.half + 1, kernel_size))
        # blind_spot: the vertical kernel reaches r columns right only r rows up (closed
        # under stacking), so with the one-row shift pixel (i, j) sees row i - r only up to
        # column j + r - 1: a triangular blind spot, one column wider than the plain
        # stack's, for the ablation that measures what a blind spot costs
        rows_up = torch.arange(self.half, -1, -1)[:, None]  # kernel row -> rows above i
        right = torch.arange(kernel_size)[None, :] - self.half  # kernel column -> offset
        self.register_buffer("v_mask", ((right <= rows_up) | ~torch.tensor(blind_spot))
                             .float())
        self.h_conv = nn.Conv2d(in_channels, 2 * channels, (1, self.half + 1))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, v: Tensor, h: Tensor,
                cond: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """`cond`: optional (vertical, horizontal) pre-activation terms (B, 2C, H, W) computed
        from a conditioning input, which may depend on it anywhere (it is given)."""
        half = self.half
        v_pre = F.conv2d(F.pad(v, (half, half, half, 0)), self.v_conv.weight * self.v_mask,
                         self.v_conv.bias)  # rows i-half .. i
        h_in = F.pad(h, (1, 0))[..., :-1] if self.first else h  # first: shift right
        h_pre = self.h_conv(F.pad(h_in, (half, 0)))  # columns j-half .. j
        down = F.pad(v_pre, (0, 0, 1, 0))[..., :-1, :]  # row i gets vertical rows < i
        h_pre = h_pre + self.v_to_h(down)
        if cond is not None:  # added after the shift: the condition is no pixel's future
            v_pre, h_pre = v_pre + cond[0], h_pre + cond[1]
        v_out = torch.tanh(v_pre[:, ::2]) * torch.sigmoid(v_pre[:, 1::2])
        gated = torch.tanh(h_pre[:, ::2]) * torch.sigmoid(h_pre[:, 1::2])
        h_out = self.h_out(self.drop(gated))
        return v_out, h_out if self.first else h + h_out


class _PlainLayer(nn.Module):
    """A residual block around a type-B masked convolution (a plain PixelCNN layer)."""

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, kernel_size, "B")
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.drop(self.conv(torch.relu(h)))


class PixelCNN(AutoregressiveModel):
    """PixelCNN over one-channel images with K levels per pixel, raster order.

    Args:
        image_shape: (H, W) or (1, H, W), e.g. (1, 8, 8) for the digits.
        n_levels: K levels per pixel (2 for binarised images, 17 for the digits).
        channels: feature maps per layer.
        n_layers: layers after the first (type A) one.
        kernel_size: odd kernel size of the hidden layers (the first plain layer uses
            `first_kernel_size`).
        gated: the gated two-stack architecture without a blind spot (default) or a plain
            stack of masked convolutions (which has one).
        blind_spot: (gated only) mask the vertical stack so that pixel (i, j) sees row
            i - r only up to column j + r - 1: a triangular blind spot (one column wider
            than the plain stack's) inside the gated architecture, with the same
            parameters (an ablation that changes one factor).
        dropout: on the residual branches.

    Shapes:
        x: (B, *image_shape) -> log_prob (B,); conditional_logits: (B, D, K) one-hot pixels
        (D = H W, raster order) -> (B, D, K)
    """

    def __init__(self, image_shape: int | Sequence[int], n_levels: int = 2, *,
                 channels: int = 64, n_layers: int = 5, kernel_size: int = 3,
                 first_kernel_size: int = 5, gated: bool = True, dropout: float = 0.0,
                 blind_spot: bool = False) -> None:
        image_shape = _image_shape(image_shape)
        super().__init__(image_shape, n_levels)
        check_int(channels, "channels", 1)
        check_int(n_layers, "n_layers", 0)
        for name, size in (("kernel_size", kernel_size), ("first_kernel_size",
                                                           first_kernel_size)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
                raise ValueError(f"{name} must be a positive odd int; got {size!r}")
        check_nonnegative(dropout, "dropout")
        if blind_spot and not gated:
            raise ValueError("blind_spot applies to the gated architecture; the plain stack "
                             "(gated=False) has its blind spot already")
        self.height, self.width = image_shape[-2:]
        self.gated = gated
        if gated:
            self.layers = nn.ModuleList(
                [_GatedLayer(n_levels, channels, first_kernel_size, True, dropout, blind_spot)]
                + [_GatedLayer(channels, channels, kernel_size, False, dropout, blind_spot)
                   for _ in range(n_layers)])
        else:
            self.first = MaskedConv2d(n_levels, channels, first_kernel_size, "A")
            self.layers = nn.ModuleList(_PlainLayer(channels, kernel_size, dropout)
                                        for _ in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(),
                                  nn.Conv2d(channels, n_levels, 1))

    def conditional_logits(self, h: Tensor) -> Tensor:
        batch = h.shape[0]
        image = h.transpose(1, 2).reshape(batch, self.n_levels, self.height, self.width)
        if self.gated:
            v = hz = image
            for index, layer in enumerate(self.layers):
                v, hz = layer(v, hz, self._layer_condition(index, batch))
            features = hz
        else:
            features = self.first(image)
            for layer in self.layers:
                features = layer(features)
        logits = self.head(features)  # (B, K, H, W)
        return logits.flatten(2).transpose(1, 2)  # (B, D, K)

    def _layer_condition(self, index: int, batch: int) -> tuple[Tensor, Tensor] | None:
        """Conditioning terms of gated layer `index` (none for the unconditional model)."""
        return None
