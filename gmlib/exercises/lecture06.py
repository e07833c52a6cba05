"""Checks for the exercises of lecture 06 (PixelCNN, WaveNet, transformers)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gmlib.autoregressive.wavenet import receptive_field
from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise
from gmlib.nn import pixelcnn_mask


@exercise("06.1", "PixelCNN's masks")
def _masks(answer: object) -> str:
    for k in (3, 5, 7):
        for kind in ("A", "B"):
            got = expect_tensor(answer(k, kind), (k, k), "(k, k)")
            want = pixelcnn_mask(k, kind).double()
            other = pixelcnn_mask(k, "B" if kind == "A" else "A").double()
            if torch.equal(got, other):
                raise Incorrect("A and B are swapped: mask A (the first layer) hides the "
                                "centre pixel, the one being predicted; B keeps it")
            if torch.equal(got, want.T):
                raise Incorrect("the mask is transposed: rows are image rows; the rows "
                                "*below* the centre are hidden")
            if not torch.equal(got, want):
                raise Incorrect(f"mask {kind} for k = {k}: ones on every row above the "
                                "centre and left of it on its row (centre included for B "
                                "only), zeros elsewhere")
    return "mask A hides the pixel itself, mask B only the future."


@exercise("06.2", "The receptive field of a dilated stack")
def _receptive(answer: object) -> str:
    for k, dilations in ((2, [1, 2, 4, 8]), (3, [1, 1, 1]), (2, [1]), (3, [1, 2, 4, 8, 16])):
        got = answer(k, dilations)
        if not isinstance(got, int | float) or isinstance(got, bool):
            raise Incorrect(f"return a number; got {type(got).__name__}")
        want = receptive_field(k, dilations)
        if got == want:
            continue
        if got == want - 1:
            raise Incorrect("count the current input too: 1 + (k - 1) * sum(dilations)")
        if got == k * sum(dilations):
            raise Incorrect("a kernel of k taps spans (k - 1) d + 1 inputs, so each layer "
                            "adds (k - 1) d, not k d")
        raise Incorrect(f"for k = {k} and dilations {dilations} the receptive field is "
                        f"{want}, not {got}")
    return "doubling dilations make the receptive field grow exponentially with depth."


@exercise("06.3", "Causal self-attention")
def _attention(answer: object) -> str:
    gen = torch.Generator().manual_seed(0)
    for length, dim in ((5, 4), (9, 8)):
        q, k, v = (torch.randn(length, dim, generator=gen, dtype=torch.float64)
                   for _ in range(3))
        got = expect_tensor(answer(q, k, v), (length, dim), "(T, d)")
        want = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
        if torch.allclose(got, F.scaled_dot_product_attention(q[None], k[None], v[None])[0]):
            raise Incorrect("without a mask every position attends to the future: set the "
                            "scores above the diagonal to -inf before the softmax")
        unscaled = F.scaled_dot_product_attention(q[None] * math.sqrt(dim), k[None], v[None],
                                                  is_causal=True)[0]
        if torch.allclose(got, unscaled):
            raise Incorrect("divide the scores q k^T by sqrt(d) before the softmax")
        if not bool(torch.isfinite(got).all()):
            raise Incorrect("position t may attend to itself: mask only j > t (with the "
                            "diagonal masked too, the first position has nothing to attend "
                            "to and its softmax is NaN)")
        if not torch.allclose(got, want, atol=1e-8):
            raise Incorrect("softmax over j <= t of q_t . k_j / sqrt(d), then the weighted "
                            "sum of the v_j")
    return "the mask makes position t a function of positions <= t: an autoregressive layer."


@exercise("06.4", "The NLL of categorical pixels")
def _categorical_nll(answer: object) -> str:
    gen = torch.Generator().manual_seed(1)
    for batch, d, levels in ((3, 5, 4), (6, 64, 17)):
        logits = torch.randn(batch, d, levels, generator=gen, dtype=torch.float64)
        x = torch.randint(levels, (batch, d), generator=gen)
        want = F.cross_entropy(logits.transpose(1, 2), x, reduction="none").sum(1)
        got = expect_tensor(answer(logits, x), (batch,), "(B,)")
        raw = -logits.gather(-1, x[..., None]).squeeze(-1).sum(1)
        if torch.allclose(got, raw):
            raise Incorrect("logits are not log-probabilities: normalise with log_softmax "
                            "over the K levels first")
        if torch.allclose(got, want / d):
            raise Incorrect("sum over the D pixels (nats per image), do not average")
        if torch.allclose(got, -want):
            raise Incorrect("return the negative log-likelihood (a positive number)")
        if not torch.allclose(got, want, atol=1e-8):
            raise Incorrect("NLL = -sum_i log softmax(logits_i)[x_i]")
    return "the NLL of an image is the sum of D cross-entropies, one per pixel."
