"""Input complexity (Serra et al. 2020): a generic compressor's code length as the term
that corrects a likelihood for how simple an input is.

A likelihood model gives simple inputs (few strokes, large uniform areas) high probability
whatever they show, which is why a model can find foreign data *more* likely than its own
(Nalisnick et al. 2019). Serra et al. estimate an input's complexity L(x) by the length of
its file under a lossless compressor that knows nothing of the training data (PNG, JPEG2000,
FLIF on images) and score

    S(x) = -log2 p(x) - L(x),

the log-likelihood ratio between a generic "universal" model, which assigns 2^-L(x), and
the trained one: bits the trained model needs *beyond* what any image of that complexity
costs. `complexity_bits` measures L(x) image by image with the general-purpose compressors
of lecture 14 (zlib, bz2, lzma); a constant header shifts every score alike and leaves
rankings and AUCs unchanged, so lzma writes its raw stream (the .xz container would pad each
file to a multiple of 4 bytes).

References:
    Serra et al. 2020, Input complexity and out-of-distribution detection with
    likelihood-based generative models, https://arxiv.org/abs/1909.11480
"""

from __future__ import annotations

import bz2
import lzma
import math
import zlib
from collections.abc import Callable

import torch
from torch import Tensor

from gmlib.validation import check_tensor

__all__ = ["COMPRESSORS", "complexity_bits", "complexity_scores"]

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": lambda data: zlib.compress(data, 9),
    "bz2": lambda data: bz2.compress(data, 9),
    # the raw LZMA2 stream: the .xz container pads every file to 4 bytes, which would
    # turn byte differences into ties; preset 0 keeps one call fast (lecture 14's xz -9e
    # takes 200 times as long and shortens some of these files by a few bytes)
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_RAW,
                                       filters=[{"id": lzma.FILTER_LZMA2, "preset": 0}]),
}


def complexity_bits(x: Tensor, compressor: str = "lzma") -> Tensor:
    """Bits of each input's file under a general-purpose compressor, one file per input.

    Args:
        x: (N, ...) integer values 0..255 (grey levels, binary pixels), one input per row.
        compressor: one of `COMPRESSORS`.

    Shapes:
        returns (N,) float64 on the CPU.
    """
    check_tensor(x, "x")
    if compressor not in COMPRESSORS:
        raise ValueError(f"compressor must be one of {sorted(COMPRESSORS)}; got {compressor!r}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"x must hold one input per row, (N, ...) with N >= 1; got shape "
                         f"{tuple(x.shape)}")
    flat = x.detach().reshape(len(x), -1).cpu()
    if not torch.equal(flat, flat.round()) or flat.min() < 0 or flat.max() > 255:
        raise ValueError("x must hold integer values 0..255 (bytes) to be compressed; got "
                         f"values in [{float(flat.min()):.3g}, {float(flat.max()):.3g}]")
    rows = flat.to(torch.uint8).numpy()
    code = COMPRESSORS[compressor]
    return torch.tensor([8.0 * len(code(row.tobytes())) for row in rows], dtype=torch.float64)


def complexity_scores(nll_nats: Tensor, bits: Tensor) -> Tensor:
    """S(x) = -log2 p(x) - L(x) in bits: high when the model finds x more costly than its
    complexity explains (Serra et al. 2020).

    Shapes:
        nll_nats: (N,) -log p(x) in nats, bits: (N,) L(x) -> (N,) float64
    """
    check_tensor(nll_nats, "nll_nats")
    check_tensor(bits, "bits")
    if nll_nats.dim() != 1 or nll_nats.shape != bits.shape:
        raise ValueError(f"nll_nats and bits must be 1-D of one length; got shapes "
                         f"{tuple(nll_nats.shape)} and {tuple(bits.shape)}")
    return nll_nats.double().cpu() / math.log(2) - bits.double().cpu()
