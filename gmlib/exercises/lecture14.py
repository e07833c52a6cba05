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


def _tables(n: int, levels: int = 17, precision: int = 16) -> list[list[int]]:
    """`n` random integer CDF tables over `levels` symbols with total 2^precision, every
    frequency at least 1, some of them very skewed."""
    gen = torch.Generator().manual_seed(0)
    tables = []
    for k in range(n):
        logits = torch.randn(levels, generator=gen, dtype=torch.float64) * (1 + k % 4)
        probs = torch.softmax(logits, 0)
        freqs = (probs * (2 ** precision - levels)).floor().long() + 1
        freqs[int(freqs.argmax())] += 2 ** precision - int(freqs.sum())
        tables.append([0, *torch.cumsum(freqs, 0).tolist()])
    return tables


@exercise("14.6", "A streaming rANS coder")
def _streaming_rans(answer: object) -> str:
    encode, decode = expect_tuple(answer, ("encode", "decode"))
    tables = _tables(600)
    gen = torch.Generator().manual_seed(1)
    symbols = []
    for cdf in tables:  # draw each symbol from its own table
        u = int(torch.randint(cdf[-1], (1,), generator=gen))
        symbols.append(next(s for s in range(len(cdf) - 1) if cdf[s] <= u < cdf[s + 1]))
    words = encode(list(symbols), tables)
    if not isinstance(words, list | tuple) or not all(isinstance(w, int) for w in words):
        raise Incorrect("encode should return the message as a list of Python ints, each a "
                        "32-bit word")
    if any(not 0 <= w < 2 ** 32 for w in words):
        raise Incorrect("every word must fit in 32 bits: whenever a push would take the state "
                        "past 2^64, first move its low 32 bits to the message (state >>= 32)")
    # one table for every position first: then a coder that forgets the stack's order
    # returns the symbols reversed
    same = [tables[0]] * 50
    if list(decode(list(encode(symbols[:50], same)), same)) == symbols[:50][::-1] != (
            symbols[:50]):
        raise Incorrect("the symbols come back reversed: ANS is a stack, so push them in "
                        "reverse order (last symbol first) and the decoder pops them in order")
    decoded = decode(list(words), tables)
    decoded = list(decoded)
    if decoded != symbols:
        if len(decoded) == len(symbols):
            wrong = next(i for i, (a, b) in enumerate(zip(decoded, symbols, strict=True))
                         if a != b)
            where = f" (first wrong symbol at position {wrong})"
        else:
            where = f" ({len(decoded)} symbols back, {len(symbols)} sent)"
        raise Incorrect("the round trip is not exact" + where + ": the decoder must "
            "pop with the same table the encoder pushed with, and read words back in the "
            "opposite order to the one they were written in")
    information = sum(-math.log2((cdf[s + 1] - cdf[s]) / cdf[-1])
                      for s, cdf in zip(symbols, tables, strict=True))
    bits = 32 * len(words)
    if bits > information + 96:
        raise Incorrect(f"the message has {bits} bits for {information:.0f} bits of "
                        "information: push each symbol with its own table's frequency f (it "
                        "costs -log2(f / M) bits), move words out only when the state would "
                        "overflow (while state >= 2^48 f), and flush the final state as two "
                        "words")
    return (f"{bits} bits for {information:.1f} bits of information: rANS with 32-bit "
            "renormalisation costs the information plus the final state's 64 bits, and "
            "decodes exactly in the opposite order.")
