"""A small causal transformer (GPT) over the pixel sequence, with a key/value cache.

The image is read in raster order as a sequence of D tokens (its grey levels). The input at
position t is the token x_{t-1} (a learned start token at t = 0) plus a learned position
embedding; causal self-attention lets position t see positions <= t only, so the logits at t
are those of p(x_t | x_<t). Sampling with `method="cached"` keeps every layer's keys and
values, so step t runs the network on one token instead of the whole prefix.

References:
    Vaswani et al. (2017), Attention Is All You Need, https://arxiv.org/abs/1706.03762;
    Radford et al. (2019), Language Models are Unsupervised Multitask Learners (GPT-2);
    Chen et al. (2020), Generative Pretraining from Pixels, https://proceedings.mlr.press/v119/chen20s.html;
    the layout follows Karpathy's nanoGPT (model.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.validation import check_int, check_nonnegative

__all__ = ["CausalTransformer"]


class _SelfAttention(nn.Module):
    def __init__(self, width: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.dropout = dropout

    def _heads(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, length, width = h.shape
        qkv = self.qkv(h).view(batch, length, 3, self.n_heads, width // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, T, width/heads)
        return q, k, v

    def forward(self, h: Tensor) -> Tensor:  # (B, T, C) -> (B, T, C)
        q, k, v = self._heads(h)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        return self.proj(out.transpose(1, 2).reshape(h.shape))

    def step(self, h: Tensor, cache: list[Tensor]) -> Tensor:
        """One new position (B, 1, C) attending to the cached keys/values and itself."""
        q, k, v = self._heads(h)
        if cache:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        cache[:] = [k, v]
        out = F.scaled_dot_product_attention(q, k, v)  # the newest query sees all of them
        return self.proj(out.transpose(1, 2).reshape(h.shape))


class _Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, width: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = _SelfAttention(width, n_heads, dropout)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, cache: list[Tensor] | None = None) -> Tensor:
        attn = self.attn(self.ln1(h)) if cache is None else self.attn.step(self.ln1(h), cache)
        h = h + self.drop(attn)
        return h + self.mlp(self.ln2(h))


class CausalTransformer(AutoregressiveModel):
    """A GPT over the D pixels in raster order, categorical over K levels per pixel.

    Args:
        event_shape: shape of one observation, e.g. 64 or (1, 8, 8).
        n_levels: K levels per pixel (2 for binary, 17 for the digits).
        width: embedding size C.
        n_layers, n_heads: depth and attention heads (width % n_heads == 0).
        dropout: on attention weights and residual branches (small data needs it).

    Shapes:
        x: (B, *event_shape) with values in 0..K-1 -> log_prob (B,)
        conditional_logits: (B, D, K) one-hot inputs -> (B, D, K)
    """

    def __init__(self, event_shape: int | Sequence[int], n_levels: int = 2, *,
                 width: int = 64, n_layers: int = 2, n_heads: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__(event_shape, n_levels)
        check_int(width, "width", 1)
        check_int(n_layers, "n_layers", 1)
        check_int(n_heads, "n_heads", 1)
        if width % n_heads:
            raise ValueError(f"width ({width}) must be divisible by n_heads ({n_heads})")
        if check_nonnegative(dropout, "dropout") >= 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.token = nn.Linear(n_levels, width, bias=False)  # one-hot @ W: an embedding
        self.start = nn.Parameter(torch.zeros(width))
        self.position = nn.Parameter(torch.randn(self.n_dims, width) * 0.02)
        self.blocks = nn.ModuleList(_Block(width, n_heads, dropout) for _ in range(n_layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_levels)
        self.drop = nn.Dropout(dropout)

    def conditional_logits(self, h: Tensor) -> Tensor:
        tokens = self.token(h[:, :-1])  # (B, D-1, C): x_0..x_{D-2}
        start = self.start.expand(h.shape[0], 1, -1)
        z = self.drop(torch.cat([start, tokens], 1) + self.position)  # (B, D, C)
        for block in self.blocks:
            z = block(z)
        return self.head(self.ln(z))  # (B, D, K)

    def _start_cache(self, n: int) -> tuple[int, list[list[Tensor]]]:
        return n, [[] for _ in self.blocks]  # per block: [keys, values] once filled

    def _cached_step(self, previous: Tensor | None, t: int,
                     state: tuple[int, list[list[Tensor]]]) -> tuple[Tensor, Any]:
        n, caches = state
        z = self.start.expand(n, 1, -1) if previous is None else self.token(previous)
        z = z + self.position[t]  # (n, 1, C): only the new position
        for block, cache in zip(self.blocks, caches, strict=True):
            z = block(z, cache)
        return self.head(self.ln(z))[:, 0], state
