"""Bits-back coding with a latent-variable model (Frey and Hinton 1997; Townsend et al. 2019).

A mixture p(x) = sum_z p(z) p(x | z) could be coded as the pair (z, x): -log2 p(z) -
log2 p(x | z) bits, more than -log2 p(x) because the choice of z carries information the
receiver does not need. Bits-back gets it back. With an ANS stack (`gmlib.coding.ans`),
the sender codes each x by

1. *popping* z from the stack with q(z | x): this reads -log2 q(z | x) bits that were
   already there (earlier messages, or the initial random bits);
2. pushing x with p(x | z), then z with p(z).

The net change is -log2 p(x | z) - log2 p(z) + log2 q(z | x) bits, whose mean over
z ~ q is the negative ELBO; with the exact posterior q(z | x) = p(z | x) it is -log2 p(x)
for every z. The receiver runs the steps backwards: pop z with p(z), pop x with p(x | z),
and push z back with q(z | x), which it can compute now that it has x, restoring the bits
the sender borrowed. Images come back in reverse order (a stack).

Implemented for `BernoulliMixture` (binary pixels, exact posterior), the model of
lecture 03; a VAE needs its continuous latent discretised first (Townsend et al. 2019).

Format: a 17-byte header (magic b"GMBB", version 1, N, D, initial bits) and the state.
"""

from __future__ import annotations

import random
import struct

import torch
from torch import Tensor

from gmlib.coding.ans import ANSStack
from gmlib.coding.tables import probabilities_to_cdf
from gmlib.mixtures import BernoulliMixture
from gmlib.validation import Support, check_int, check_support, check_tensor

__all__ = ["BB_HEADER", "bits_back_compress", "bits_back_decompress"]

MAGIC = b"GMBB"
VERSION = 1
BB_HEADER = struct.Struct("<4sBIII")


def _check_model(model: object) -> BernoulliMixture:
    if not isinstance(model, BernoulliMixture):
        raise TypeError("bits-back coding is implemented for a fitted BernoulliMixture (exact "
                        f"posterior over a discrete latent); got {type(model).__name__}")
    model._check_fitted()
    return model


def _tables(model: BernoulliMixture, bits: int) -> tuple[list[int], list[list[list[int]]]]:
    """The prior's table (K + 1 ints) and the pixels' tables given z, [K][D][3] ints."""
    prior = probabilities_to_cdf(model.weights_, bits).tolist()
    on = model.means_.double()
    pixels = probabilities_to_cdf(torch.stack([1 - on, on], -1), bits)
    return prior, pixels.tolist()


def _posterior_table(model: BernoulliMixture, x_row: Tensor, bits: int) -> list[int]:
    # one example at a time on both sides, so sender and receiver compute identical floats
    return probabilities_to_cdf(model.predict_proba(x_row[None])[0], bits).tolist()


def bits_back_compress(model: BernoulliMixture, x: Tensor, *, bits: int = 16,
                       initial_bits: int = 64, seed: int = 0) -> bytes:
    """Code binary vectors x with bits-back coding under a Bernoulli mixture.

    Args:
        model: a fitted `BernoulliMixture`.
        x: (N, D) binary vectors.
        bits: precision of the frequency tables (totals 2^bits).
        initial_bits: random bits the stack starts with; the first example's latent is read
            from them. They are part of the output and come back out of the decoder, so the
            *net* cost is 8 * len(data) - initial_bits - header bits.
        seed: seed of those initial bits.

    Returns:
        the header and the final ANS state, as bytes.
    """
    model = _check_model(model)
    check_tensor(x, "x")
    if x.dim() != 2 or x.shape[1] != model.means_.shape[1]:
        raise ValueError(f"x must have shape (N, {model.means_.shape[1]}); got "
                         f"{tuple(x.shape)}")
    check_support(x, Support.binary(), "x")
    initial_bits = check_int(initial_bits, "initial_bits", 1)
    x = x.to(model.means_.device, model.means_.dtype)
    prior, pixels = _tables(model, bits)
    # the top bit is set so that the decoder knows how many initial bits to expect
    stack = ANSStack(random.Random(seed).getrandbits(initial_bits) | 1 << (initial_bits - 1))
    symbols = x.long().cpu()
    for row in range(len(x)):
        z = stack.pop(_posterior_table(model, x[row], bits))
        for d, value in enumerate(symbols[row].tolist()):
            stack.push(value, pixels[z][d])
        stack.push(z, prior)
    header = BB_HEADER.pack(MAGIC, VERSION, len(x), x.shape[1], initial_bits)
    return header + stack.to_bytes()


def bits_back_decompress(model: BernoulliMixture, data: bytes, *,
                         bits: int = 16) -> tuple[Tensor, int]:
    """Invert `bits_back_compress`: returns x (N, D) and the initial state, which must come
    out exactly (a check that every borrowed bit was given back)."""
    model = _check_model(model)
    if not isinstance(data, (bytes, bytearray)) or len(data) < BB_HEADER.size:
        raise ValueError("data is not a gmlib bits-back stream (too short)")
    magic, version, n, d, initial_bits = BB_HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ValueError("data is not a gmlib bits-back stream (bad magic or version)")
    if d != model.means_.shape[1]:
        raise ValueError(f"the stream holds {d}-dimensional vectors; the model has "
                         f"{model.means_.shape[1]}")
    prior, pixels = _tables(model, bits)
    stack = ANSStack.from_bytes(bytes(data[BB_HEADER.size:]))
    x = torch.zeros(n, d, dtype=model.means_.dtype, device=model.means_.device)
    for row in reversed(range(n)):
        z = stack.pop(prior)
        for dim in reversed(range(d)):
            x[row, dim] = stack.pop(pixels[z][dim])
        stack.push(z, _posterior_table(model, x[row], bits))
    if stack.n_bits != initial_bits:
        raise ValueError("the stream is corrupt or was coded with another model: the initial "
                         f"{initial_bits} bits did not come back")
    return x, stack.state
