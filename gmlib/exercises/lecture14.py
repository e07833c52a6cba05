"""Checks for the exercises of lecture 14 (compression with generative models)."""

from __future__ import annotations

import math
from fractions import Fraction

import torch

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise


@exercise("14.1", "Shannon code lengths")
def _shannon_lengths(answer: object) -> str:
    probs = torch.tensor([0.5, 0.25, 0.125, 0.1, 0.025], dtype=torch.float64)
    got = expect_tensor(answer(probs), (5,), "(K,), like probs")
    want = torch.ceil(-torch.log2(probs))
    if torch.equal(got, want):
        kraft = float((2.0 ** -want).sum())
        mean = float((probs * want).sum())
        entropy = float(-(probs * probs.log2()).sum())
        return (f"lengths ceil(-log2 p) = {want.long().tolist()}: Kraft sum {kraft:.3f} <= 1, "
                f"so a prefix code with these lengths exists, and its mean length {mean:.3f} "
                f"bits is within 1 bit of the entropy {entropy:.3f}.")
    if torch.allclose(got, -torch.log2(probs)):
        raise Incorrect("code words have whole numbers of bits: round -log2 p *up*")
    if torch.equal(got, torch.floor(-torch.log2(probs))):
        raise Incorrect("rounding down can break the Kraft inequality: round up")
    raise Incorrect("the Shannon length of a symbol of probability p is ceil(-log2 p)")


@exercise("14.2", "Narrowing the interval")
def _narrow(answer: object) -> str:
    cdf = [Fraction(0), Fraction(1, 2), Fraction(3, 4), Fraction(1)]
    low, high = Fraction(1, 4), Fraction(3, 4)
    for symbol, want in ((0, (Fraction(1, 4), Fraction(1, 2))),
                         (2, (Fraction(5, 8), Fraction(3, 4))),
                         (1, (Fraction(1, 2), Fraction(5, 8)))):
        got = expect_tuple(answer(low, high, cdf, symbol), ("low", "high"))
        if tuple(got) != want:
            width = high - low
            if tuple(got) == (cdf[symbol] * width, cdf[symbol + 1] * width):
                raise Incorrect("the sub-interval starts at low, not at 0: low + width * "
                                "cdf[s]")
            raise Incorrect(f"for symbol {symbol} in [{low}, {high}) expected {want}, got "
                            f"{tuple(got)}: low + (high - low) * cdf[s], low + (high - low) "
                            "* cdf[s + 1]")
    return ("each symbol keeps the share of the interval its probability gives it, so the "
            "final width is the product of the probabilities: -log2 of it is the message's "
            "code length.")


@exercise("14.3", "Pushing and popping with rANS")
def _rans(answer: object) -> str:
    push, pop = expect_tuple(answer, ("push", "pop"))
    cdf = [0, 3, 4, 11, 16]
    for state in (0, 1, 17, 12345, 2**70 + 3):
        for symbol in range(4):
            start, freq = cdf[symbol], cdf[symbol + 1] - cdf[symbol]
            want = (state // freq) * 16 + start + state % freq
            got = push(state, symbol, cdf)
            if got != want:
                raise Incorrect(f"push({state}, {symbol}) should be (n // f) * M + cdf[s] + "
                                f"n % f = {want}; got {got}")
            back = pop(want, cdf)
            if not isinstance(back, tuple | list) or tuple(back) != (state, symbol):
                raise Incorrect(f"pop({want}) should give back (state, symbol) = "
                                f"({state}, {symbol}); got {back}")
    growth = math.log2(16 / 1)
    return ("push multiplies the state by about M / f_s, adding -log2(f_s / M) bits "
            f"({growth:.0f} bits for a symbol of frequency 1 out of 16), and pop undoes it "
            "exactly, last in first out.")
