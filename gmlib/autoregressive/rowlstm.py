"""The Row LSTM of PixelRNN: an LSTM that runs down the image one row at a time.

Each layer keeps, for every column j, an LSTM state that moves from row i - 1 to row i. The
gates of row i add two convolutions along the row (van den Oord et al. 2016, section 3.1):

    [o, f, i, g] = K_ss * h_{i-1} + K_is * x_i,
    c_i = sigmoid(f) c_{i-1} + sigmoid(i) tanh(g),   h_i = sigmoid(o) tanh(c_i),

where K_ss is a 1 x k convolution of the previous row's states (state to state) and K_is a
1 x k convolution of the current row's inputs, masked so that column j sees columns <= j
(mask B). As in the paper's architecture (its Table 2), the layers read the features of a
first masked convolution of type A, which hides the pixel being predicted, so no layer's
input at (i, j) depends on x_ij. A whole row is computed at once, so a pass costs H
sequential steps, not H W. The price is a triangular receptive field: through k-wide
convolutions, row i - r reaches only about r (k - 1)/2 columns to the right of j (somewhat
further to the left, where the masked convolutions add their reach), and the current row only
a few pixels to the left, so context the ordering allows is never seen (the Diagonal BiLSTM
of the paper removes this blind region).

References:
    van den Oord, Kalchbrenner, Kavukcuoglu (2016), Pixel Recurrent Neural Networks, ICML,
    https://arxiv.org/abs/1601.06759
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel, as_event_shape
from gmlib.nn import MaskedConv2d
from gmlib.validation import check_int

__all__ = ["RowLSTM"]


class _RowLSTMLayer(nn.Module):
    """One Row LSTM layer: (B, C_in, H, W) -> (B, hidden, H, W), row by row from the top."""

    def __init__(self, hidden: int, kernel_size: int) -> None:
        super().__init__()
        self.hidden, self.half = hidden, kernel_size // 2
        self.input_to_state = nn.Conv2d(hidden, 4 * hidden, (1, kernel_size))
        mask = torch.ones(1, kernel_size)
        mask[0, self.half + 1:] = 0  # mask B: columns <= j of the current row
        self.register_buffer("mask", mask)
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, kernel_size, padding=self.half)

    def forward(self, x: Tensor) -> Tensor:
        batch, _, height, width = x.shape
        weight = self.input_to_state.weight * self.mask
        gates_in = F.conv2d(F.pad(x, (self.half, self.half)), weight,
                            self.input_to_state.bias)  # (B, 4h, H, W), all rows at once
        h = x.new_zeros(batch, self.hidden, width)
        c = torch.zeros_like(h)
        rows = []
        for i in range(height):  # the recurrence: row i needs row i - 1's state
            gates = gates_in[:, :, i] + self.state_to_state(h)  # (B, 4h, W)
            o, f, inp, g = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(inp) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            rows.append(h)
        return torch.stack(rows, dim=2)


class RowLSTM(AutoregressiveModel):
    """PixelRNN's Row LSTM over one-channel images with K levels per pixel, raster order.

    Args:
        image_shape: (H, W) or (1, H, W), e.g. (1, 8, 8) for the digits.
        n_levels: K levels per pixel.
        hidden: LSTM state size per column.
        n_layers: stacked Row LSTM layers, with residual connections between them.
        kernel_size: odd width k of the input-to-state and state-to-state convolutions.
        first_kernel_size: the first masked convolution (type A), first_kernel_size square.

    Shapes:
        x: (B, *image_shape) -> log_prob (B,); conditional_logits: (B, D, K) one-hot pixels
        (D = H W, raster order) -> (B, D, K)
    """

    def __init__(self, image_shape: int | Sequence[int], n_levels: int = 2, *,
                 hidden: int = 32, n_layers: int = 2, kernel_size: int = 3,
                 first_kernel_size: int = 5) -> None:
        shape = as_event_shape(image_shape, "image_shape")
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[0] != 1):
            raise ValueError(f"image_shape must be (H, W) or (1, H, W); got {shape}")
        super().__init__(shape, n_levels)
        check_int(hidden, "hidden", 1)
        check_int(n_layers, "n_layers", 1)
        for name, size in (("kernel_size", kernel_size),
                           ("first_kernel_size", first_kernel_size)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
                raise ValueError(f"{name} must be a positive odd int; got {size!r}")
        self.height, self.width = shape[-2:]
        self.first = MaskedConv2d(n_levels, hidden, first_kernel_size, "A")
        self.layers = nn.ModuleList(_RowLSTMLayer(hidden, kernel_size)
                                    for _ in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                  nn.Conv2d(hidden, n_levels, 1))

    def conditional_logits(self, h: Tensor) -> Tensor:
        batch = h.shape[0]
        image = h.transpose(1, 2).reshape(batch, self.n_levels, self.height, self.width)
        features = self.first(image)  # (B, hidden, H, W); never sees x_ij at (i, j)
        for layer in self.layers:
            features = features + layer(features)  # residual: the paper's skip connections
        logits = self.head(features)  # (B, K, H, W)
        return logits.flatten(2).transpose(1, 2)  # (B, D, K)
