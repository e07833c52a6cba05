"""Denoisers conditioned on time (and optionally a class): a small U-Net for images and an
MLP for 2-D toys. Diffusion, flow matching and noise-conditional score models all use them.

The time (or noise level) enters through a sinusoidal embedding (Vaswani et al. 2017, as in
Ho et al. 2020) passed through an MLP and added inside every residual block; a class label
enters as a learned embedding added to it, with one extra "null" label so the same network
also predicts without a label (classifier-free guidance, Ho & Salimans 2022).

References:
    Ronneberger et al. 2015, U-Net, https://arxiv.org/abs/1505.04597
    Ho et al. 2020, Denoising diffusion probabilistic models, https://arxiv.org/abs/2006.11239
    Ho & Salimans 2022, Classifier-free diffusion guidance, https://arxiv.org/abs/2207.12598
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.nn.mlp import MLP
from gmlib.validation import check_int, check_labels, check_tensor

__all__ = ["ConditionedMLP", "SinusoidalEmbedding", "UNet"]


class SinusoidalEmbedding(nn.Module):
    """t -> [sin(w_k s t), cos(w_k s t)] with frequencies w_k geometric from 1 to 1/10000.

    Args:
        dim: even embedding size.
        scale: s, multiplies t first; 1000 spreads t in [0, 1] over the frequencies as an
            integer step index 0..1000 would.

    Shapes:
        t: (B,) -> (B, dim)
    """

    def __init__(self, dim: int, scale: float = 1000.0) -> None:
        super().__init__()
        if check_int(dim, "dim", minimum=2) % 2:
            raise ValueError(f"dim must be even; got {dim}")
        freqs = torch.exp(-math.log(10000.0) * torch.arange(dim // 2) / (dim // 2))
        self.register_buffer("freqs", freqs * scale)

    def forward(self, t: Tensor) -> Tensor:
        angles = t.to(self.freqs.dtype)[:, None] * self.freqs  # (B, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class _Conditioning(nn.Module):
    """Time embedding plus an optional class embedding (index n_classes is "no label")."""

    def __init__(self, dim: int, n_classes: int | None) -> None:
        super().__init__()
        self.time = nn.Sequential(SinusoidalEmbedding(dim), nn.Linear(dim, dim), nn.SiLU(),
                                  nn.Linear(dim, dim))
        self.n_classes = n_classes
        self.label = None if n_classes is None else nn.Embedding(n_classes + 1, dim)

    def forward(self, t: Tensor, c: Tensor | None, batch: int) -> Tensor:
        t = check_tensor(t, "t")
        if t.dim() == 0:
            t = t.expand(batch)
        if t.shape != (batch,):
            raise ValueError(f"t must have shape ({batch},), one time per example; "
                             f"got {tuple(t.shape)}")
        emb = self.time(t)
        if self.label is not None:
            if c is None:
                c = torch.full((batch,), self.n_classes, dtype=torch.long, device=t.device)
            emb = emb + self.label(check_labels(c, self.n_classes + 1, batch, "c"))
        elif c is not None:
            raise ValueError("this network was built without n_classes, so it takes no labels c")
        return emb


class _ResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, in_ch), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch)
        self.norm2 = nn.GroupNorm(min(8, out_ch), out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Identity() if in_ch == out_ch else nn.Conv2d(in_ch, out_ch, 1)
        self.act = nn.SiLU()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]  # the time/class shifts every channel
        h = self.conv2(self.dropout(self.act(self.norm2(h))))
        return self.skip(x) + h


class UNet(nn.Module):
    """A small U-Net: residual blocks at each resolution, stride-2 downsampling, nearest
    upsampling, and skip connections that concatenate the encoder's maps.

    Args:
        in_channels: channels of the input image.
        out_channels: channels of the output (1 for noise prediction; the number of grey
            levels for per-level logits).
        channels: width at each resolution; (32, 64) halves an 8x8 image once.
        emb_dim: size of the time (and class) embedding.
        n_classes: number of labels, or None for an unconditional network.
        dropout: dropout inside the residual blocks.

    Shapes:
        x: (B, in_channels, H, W), t: (B,), c: (B,) labels or None -> (B, out_channels, H, W);
        H and W divisible by 2 ** (len(channels) - 1).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *,
                 channels: Sequence[int] = (32, 64), emb_dim: int = 64,
                 n_classes: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        widths = tuple(check_int(c, "channels", minimum=1) for c in channels)
        if not widths:
            raise ValueError("channels must name at least one width, such as (32, 64)")
        self.cond = _Conditioning(emb_dim, n_classes)
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        previous = widths[0]
        for i, width in enumerate(widths):
            self.down.append(_ResBlock(previous, width, emb_dim, dropout))
            previous = width
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
        self.mid = _ResBlock(previous, previous, emb_dim, dropout)
        self.up = nn.ModuleList()
        for width in reversed(widths):
            self.up.append(_ResBlock(previous + width, width, emb_dim, dropout))
            previous = width
        self.head = nn.Sequential(nn.GroupNorm(min(8, previous), previous), nn.SiLU(),
                                  nn.Conv2d(previous, out_channels, 3, padding=1))
        # a zero output layer: the untrained network predicts 0, a calm start
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.factor = 2 ** (len(widths) - 1)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: Tensor, t: Tensor, c: Tensor | None = None) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] % self.factor \
                or x.shape[-2] % self.factor:
            raise ValueError(f"x must have shape (B, {self.in_channels}, H, W) with H, W "
                             f"divisible by {self.factor}; got {tuple(x.shape)}")
        emb = self.cond(t, c, x.shape[0])
        h = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, emb)
        for i, block in enumerate(self.up):
            if i > 0:
                h = nn.functional.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.head(h)


class ConditionedMLP(nn.Module):
    """An MLP on [x, embedding(t) (+ label)] for vectors such as 2-D toy points.

    Args:
        dim: size of x (and of the output).
        hidden: width of the hidden layers.
        n_layers: number of hidden layers.
        emb_dim: size of the time (and class) embedding.
        n_classes: number of labels, or None.
        out_dim: output size (default `dim`).

    Shapes:
        x: (B, dim), t: (B,), c: (B,) or None -> (B, out_dim)
    """

    def __init__(self, dim: int = 2, *, hidden: int = 128, n_layers: int = 3,
                 emb_dim: int = 32, n_classes: int | None = None,
                 out_dim: int | None = None) -> None:
        super().__init__()
        self.dim = check_int(dim, "dim", minimum=1)
        self.cond = _Conditioning(emb_dim, n_classes)
        self.net = MLP(dim + emb_dim, (hidden,) * check_int(n_layers, "n_layers", minimum=1),
                       dim if out_dim is None else out_dim, activation=nn.SiLU)

    def forward(self, x: Tensor, t: Tensor, c: Tensor | None = None) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}); got {tuple(x.shape)}")
        return self.net(torch.cat([x, self.cond(t, c, x.shape[0]).to(x.dtype)], dim=-1))
