"""From a model's probabilities to the integer frequency tables the arithmetic coder needs.

The coder works with integers so that the encoder and the decoder compute bit-identical
intervals. A probability vector is quantised to frequencies that sum to 2^bits exactly,
every symbol getting at least 1 (a symbol of frequency 0 could never be coded, and a model
that gives an observed symbol probability 0 would make the message infinitely long).
The cost of quantising is at most about K / 2^bits nats per symbol.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ideal_code_length", "probabilities_to_cdf"]


def probabilities_to_cdf(probs: Tensor, bits: int = 16) -> Tensor:
    """Quantise probabilities over K symbols to a cumulative frequency table.

    Each symbol gets 1 + floor(p (2^bits - K)); the few units left over go to the most
    probable symbol, so the total is exactly 2^bits.

    Shapes:
        probs: (..., K), non-negative, summing to 1 over the last axis -> (..., K + 1) int64
    """
    if not isinstance(probs, Tensor):
        raise TypeError(f"probs must be a torch.Tensor; got {type(probs).__name__}")
    k = probs.shape[-1]
    total = 1 << bits
    if not 2 <= k < total // 2:
        raise ValueError(f"need 2 <= K < 2^(bits - 1) symbols; got K = {k} with bits = {bits}")
    p = probs.detach().double().cpu()
    if bool((p < 0).any()) or not bool(torch.isfinite(p).all()):
        raise ValueError("probs must be finite and non-negative")
    sums = p.sum(-1)
    if not bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-6)):
        raise ValueError("probs must sum to 1 over the last axis; got sums from "
                         f"{float(sums.min()):.6f} to {float(sums.max()):.6f}")
    freq = 1 + torch.floor(p * (total - k)).long()
    left = total - freq.sum(-1, keepdim=True)
    freq.scatter_add_(-1, p.argmax(-1, keepdim=True), left)
    zero = torch.zeros((*freq.shape[:-1], 1), dtype=torch.long)
    return torch.cat([zero, freq.cumsum(-1)], dim=-1)


def ideal_code_length(symbols: Tensor, cdf: Tensor) -> float:
    """sum of -log2(f_s / total) over the symbols: the bits an ideal coder needs with these
    tables (the arithmetic coder stays within 2 bits plus byte padding of it).

    Shapes:
        symbols: (N,) ints, cdf: (N, K + 1) -> a float (bits)
    """
    index = symbols.long()[:, None]
    freq = (cdf.gather(-1, index + 1) - cdf.gather(-1, index)).double()
    return float(-(freq / cdf[:, -1:].double()).log2().sum())

