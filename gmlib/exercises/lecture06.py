"""Checks for the exercises of lecture 06 (PixelCNN, WaveNet, transformers)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from gmlib.autoregressive import PixelCNN, RowLSTM
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
            centre = k // 2
            if torch.equal(got[:centre + 1], want[:centre + 1]) and bool(
                    (got[centre + 1:] != 0).any()):
                raise Incorrect("the rows below the centre come later in raster order: "
                                "zero them")
            if torch.equal(got.flip(0).flip(1), want) or torch.equal(
                    got, torch.ones(k, k).tril(-1 if kind == "A" else 0).double()):
                raise Incorrect("that mask keeps future pixels: raster order reads rows from "
                                "the top and each row from the left, so keep every row "
                                "above the centre (all columns) and the centre row's left "
                                "part only")
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
        if got == 2 ** len(dilations):
            raise Incorrect("2^L holds only for k = 2 with the dilations 1, 2, ..., 2^(L-1); "
                            "in general the field is 1 + (k - 1) * sum(dilations)")
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
        scores = (q @ k.T / math.sqrt(dim)).masked_fill(
            torch.ones(length, length, dtype=torch.bool).triu(1), float("-inf"))
        if torch.allclose(got, torch.softmax(scores, dim=0).nan_to_num() @ v):
            raise Incorrect("the softmax must run over the keys j (the last axis, dim=-1): "
                            "each query's weights sum to one")
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


def _field_reference(fn: Callable[[torch.Tensor], torch.Tensor], n_levels: int,
                     image_shape: tuple[int, int], pixel: tuple[int, int], *,
                     every_output: bool = False, one_input: bool = False) -> torch.Tensor:
    """Which input pixels influence the logits at `pixel`, by gradients on random inputs;
    the flags reproduce the usual mistakes."""
    height, width = image_shape
    gen = torch.Generator().manual_seed(0)
    levels = torch.randint(n_levels, (1 if one_input else 8, height * width), generator=gen)
    x = F.one_hot(levels, n_levels).double().requires_grad_(True)  # (B, D, K)
    out = fn(x)  # (B, D, K)
    target = out.sum() if every_output else out[:, pixel[0] * width + pixel[1]].sum()
    (grad,) = torch.autograd.grad(target, x)
    return (grad.abs().amax((0, 2)) > 0).reshape(height, width)


def _field_models() -> list[tuple[str, torch.nn.Module]]:
    """Three small models with random weights and three kinds of receptive field."""
    with torch.random.fork_rng():  # the learner's random state stays their own
        torch.manual_seed(6)
        return _build_field_models()


def _build_field_models() -> list[tuple[str, torch.nn.Module]]:
    models = [("a gated PixelCNN", PixelCNN((7, 7), 3, channels=6, n_layers=3,
                                            first_kernel_size=3)),
              ("a plain PixelCNN", PixelCNN((7, 7), 3, channels=6, n_layers=3,
                                            first_kernel_size=3, gated=False)),
              ("a Row LSTM", RowLSTM((7, 7), 3, hidden=5, n_layers=2, first_kernel_size=3))]
    for _, model in models:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.normal_()
        model.double()
    return models


@exercise("06.7", "A receptive field by gradients, whole")
def _field_by_gradients(answer: object) -> str:
    for (name, model), pixel in zip(_field_models(), ((4, 2), (5, 3), (4, 5)), strict=True):
        fn = model.conditional_logits
        want = _field_reference(fn, 3, (7, 7), pixel)
        got = answer(fn, 3, (7, 7), pixel)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (7, 7):
            found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Incorrect(f"return a (H, W) = (7, 7) boolean map; got {found}")
        got = got.detach().bool().cpu()
        if torch.equal(got, want):
            continue
        if torch.equal(got, want.T):
            raise Incorrect("rows first: map[r, c] is input pixel (r, c), and pixel "
                            "(r, c) is position r * W + c of the flattened image")
        if torch.equal(got, _field_reference(fn, 3, (7, 7), pixel, every_output=True)):
            raise Incorrect("you differentiated the sum of every output; take the logits at "
                            "`pixel` only (position r * W + c), or you see the union of "
                            "all the receptive fields")
        if bool((got & ~want).any()):
            raise Incorrect(f"for {name} at {pixel} your map marks pixels that have no "
                            "effect (e.g. the pixel itself, or later ones): mark an input "
                            "only where some gradient of the output at `pixel` is non-zero")
        raise Incorrect(f"for {name} at {pixel} your map misses "
                        f"{int((want & ~got).sum())} influencing pixels: a gradient can "
                        "vanish by chance for one input, so use several random one-hot "
                        "inputs and take the largest |gradient| over the batch and the "
                        "levels")
    return "the gated PixelCNN sees every earlier pixel, the plain one misses a wedge up and " \
           "to the right, and the Row LSTM a triangle's outside: measured, not argued."
