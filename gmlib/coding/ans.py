"""Asymmetric numeral systems (ANS) as a stack of symbols in one big integer.

Duda's range variant (rANS, Duda 2013) with Python's unbounded integers as the state, so
no renormalisation is needed and the coder is exact: pushing symbol s with frequency f_s
out of a total M maps the state n to

    n' = (n // f_s) * M + cdf[s] + (n % f_s),

which multiplies it by about M / f_s, i.e. adds -log2(f_s / M) bits; `pop` inverts that map
for *any* n >= 0. Unlike arithmetic coding, ANS is last-in first-out: symbols come back in
the reverse order. That is what bits-back coding needs, because it *decodes* (pops) a
latent from the stack before anything was encoded with it (`gmlib.coding.bitsback`).
Each operation costs time linear in the state's length, fine for the thousands of
symbols of the course; production coders keep a 32- or 64-bit state and stream bits out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from gmlib.coding.arithmetic import check_cdf

__all__ = ["ANSStack"]


class ANSStack:
    """A stack of symbols coded into one integer state.

    Args:
        state: the initial state (0 by default). Bits-back coding starts from a random
            state: its bits are the "initial bits" that the first latent borrows.
    """

    def __init__(self, state: int = 0) -> None:
        if not isinstance(state, int) or state < 0:
            raise ValueError(f"state must be a non-negative int; got {state!r}")
        self.state = state

    @property
    def n_bits(self) -> int:
        """The length of the state in bits: what the message costs to store."""
        return self.state.bit_length()

    def push(self, symbol: int, cdf: Sequence[int]) -> None:
        """Code `symbol` (0 <= symbol < K) with the cumulative table `cdf` (K + 1 entries)."""
        table = check_cdf(cdf)
        if not 0 <= symbol < len(table) - 1:
            raise ValueError(f"symbol must be in 0..{len(table) - 2}; got {symbol}")
        start, freq = table[symbol], table[symbol + 1] - table[symbol]
        q, r = divmod(self.state, freq)
        self.state = q * table[-1] + start + r

    def pop(self, cdf: Sequence[int]) -> int:
        """Remove and return the symbol on top, which must have been pushed with `cdf` (or,
        in bits-back coding, read a symbol distributed by `cdf` out of the state's bits)."""
        table = check_cdf(cdf)
        q, r = divmod(self.state, table[-1])
        symbol = bisect_right(table, r) - 1
        start, freq = table[symbol], table[symbol + 1] - table[symbol]
        self.state = freq * q + r - start
        return symbol

    def to_bytes(self) -> bytes:
        """The state as little-endian bytes (what is stored or sent)."""
        return self.state.to_bytes((self.n_bits + 7) // 8, "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> ANSStack:
        """The stack whose state `to_bytes` wrote."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"data must be bytes; got {type(data).__name__}")
        return cls(int.from_bytes(data, "little"))
