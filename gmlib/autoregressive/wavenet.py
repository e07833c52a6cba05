"""WaveNet: a stack of dilated causal 1-D convolutions over a sequence (here, pixels).

The input sequence is shifted right by one (a zero start vector first), so position t of the
network sees x_0..x_{t-1} only. Layer l convolves with kernel size k at dilation d_l, so the
receptive field is 1 + (k - 1) sum_l d_l positions: doubling dilations 1, 2, 4, ..., 32 cover
64 positions with 6 layers, where undilated convolutions would need 63. Each layer is a gated
residual block with a skip connection to the output.

`method="cached"` is the fast generation of Paine et al.: every layer keeps a queue of its
past inputs, so generating position t costs one kernel application per layer instead of a
pass over the whole sequence.

References:
    van den Oord et al. (2016), WaveNet: A Generative Model for Raw Audio,
    https://arxiv.org/abs/1609.03499;
    Paine et al. (2016), Fast Wavenet Generation Algorithm, https://arxiv.org/abs/1611.09482
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.nn import CausalConv1d
from gmlib.validation import check_int, check_nonnegative

__all__ = ["WaveNet", "receptive_field"]


def receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """Positions a stack of causal convolutions sees: 1 + (k - 1) * sum(dilations)."""
    return 1 + (kernel_size - 1) * sum(dilations)


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = CausalConv1d(channels, 2 * channels, kernel_size, dilation)
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def _gate(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        gated = self.drop(torch.tanh(pre[:, ::2]) * torch.sigmoid(pre[:, 1::2]))
        return self.residual(gated), self.skip(gated)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:  # (B, C, T) -> residual, skip
        residual, skip = self._gate(self.conv(h))
        return h + residual, skip

    def step(self, history: Tensor, t: int) -> tuple[Tensor, Tensor]:
        """The block's output at time t from its queued inputs history (B, C, T).

        Applies kernel tap j to the input at t - (k - 1 - j) d: the cached form of `forward`.
        """
        conv, d = self.conv, self.conv.dilation[0]
        k = conv.kernel_size[0]
        pre = conv.bias.expand(history.shape[0], -1)
        for j in range(k):
            source = t - (k - 1 - j) * d
            if source >= 0:
                pre = pre + history[:, :, source] @ conv.weight[:, :, j].T
        residual, skip = self._gate(pre[:, :, None])
        return history[:, :, t:t + 1] + residual, skip


class WaveNet(AutoregressiveModel):
    """WaveNet over the D values of a sequence (or of an image read in raster order).

    Args:
        event_shape: the length D, or the shape of one observation.
        n_levels: K levels per value.
        channels: residual channels.
        dilations: dilation of each layer; the default doubles up to cover D positions.
        kernel_size: taps per causal convolution.
        positional: add a learned embedding of the position (an image row is not a
            stationary signal: the model should know where in the image it is).
        dropout: on the gated activations of every block (small data needs it).

    Shapes:
        x: (B, *event_shape) -> log_prob (B,); conditional_logits: (B, D, K) -> (B, D, K)
    """

    def __init__(self, event_shape: int | Sequence[int], n_levels: int = 2, *,
                 channels: int = 64, dilations: Sequence[int] | None = None,
                 kernel_size: int = 2, positional: bool = True, dropout: float = 0.0) -> None:
        super().__init__(event_shape, n_levels)
        check_int(channels, "channels", 1)
        check_int(kernel_size, "kernel_size", 2)
        if dilations is None:  # 1, 2, 4, ... until the receptive field covers the sequence
            dilations = [1]
            while receptive_field(kernel_size, dilations) < self.n_dims:
                dilations.append(2 * dilations[-1])
        self.dilations = [check_int(d, "dilations[i]", 1) for d in dilations]
        self.kernel_size = kernel_size
        self.embed = nn.Conv1d(n_levels, channels, 1)
        self.position = nn.Parameter(torch.zeros(channels, self.n_dims)) if positional else None
        if check_nonnegative(dropout, "dropout") >= 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.blocks = nn.ModuleList(_ResidualBlock(channels, kernel_size, d, dropout)
                                    for d in self.dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(channels, channels, 1), nn.ReLU(),
                                  nn.Conv1d(channels, n_levels, 1))

    @property
    def receptive_field(self) -> int:
        """Past values each prediction can see (the right shift adds none: it only delays)."""
        return receptive_field(self.kernel_size, self.dilations)

    def _input(self, h: Tensor) -> Tensor:
        """Embedded inputs shifted right by one: position t holds x_{t-1}. (B, D, K) -> (B, C, D)"""
        shifted = F.pad(h.transpose(1, 2), (1, 0))[..., :-1]
        z = self.embed(shifted)
        return z if self.position is None else z + self.position

    def conditional_logits(self, h: Tensor) -> Tensor:
        z, skips = self._input(h), 0
        for block in self.blocks:
            z, skip = block(z)
            skips = skips + skip
        return self.head(skips).transpose(1, 2)  # (B, D, K)

    def _start_cache(self, n: int) -> list[Tensor]:
        # the queues: every block's inputs at all times so far, (n, C, D) each
        channels = self.embed.out_channels
        return [torch.zeros(n, channels, self.n_dims, dtype=self.dtype, device=self.device)
                for _ in self.blocks]

    def _cached_step(self, previous: Tensor | None, t: int,
                     state: list[Tensor]) -> tuple[Tensor, Any]:
        if previous is None:  # the zero start vector of the right shift
            z = self.embed.bias[None, :, None].expand(state[0].shape[0], -1, 1)
        else:
            z = self.embed(previous.transpose(1, 2))  # (n, C, 1): the shifted input at t
        if self.position is not None:
            z = z + self.position[:, t:t + 1]
        skips = 0
        for block, queue in zip(self.blocks, state, strict=True):
            queue[:, :, t] = z[:, :, 0]
            z, skip = block.step(queue, t)
            skips = skips + skip
        return self.head(skips)[:, :, 0], state
