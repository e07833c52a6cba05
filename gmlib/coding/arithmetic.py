"""An arithmetic coder over integer frequency tables, kept apart from any model.

The coder narrows an integer interval [low, high] of `PRECISION` bits once per symbol, in
proportion to the symbol's frequency, and emits the leading bits as soon as they are
settled (Witten, Neal & Cleary 1987). A model enters only through the cumulative frequency
table `cdf` it gives for each symbol, so the same coder serves every model of the course.

Invariants (checked where cheap):

* a table is a 1-D sequence of ints `cdf[0] = 0 < cdf[1] < ... < cdf[K] = total`, so every
  symbol has a frequency of at least 1, and `total <= MAX_TOTAL` (2^24);
* between symbols, `low <= high`, `high - low + 1 > QUARTER` after renormalisation, so every
  symbol of a valid table keeps a non-empty sub-interval (`range >= 2^30 > total`);
* the encoder and the decoder must see the same tables in the same order.

The message costs at most sum(-log2 f_s / total) + 2 bits, plus the padding to a whole byte
and a rounding loss of at most total / 2^30 of the interval per symbol (under 2^-14 / ln 2
bits for 16-bit tables).

References:
    Witten, Neal & Cleary 1987, Arithmetic coding for data compression,
    https://doi.org/10.1145/214762.214771
    MacKay 2003, Information theory, inference, and learning algorithms, chapter 6
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import pairwise

__all__ = ["MAX_TOTAL", "PRECISION", "ArithmeticDecoder", "ArithmeticEncoder", "check_cdf"]

PRECISION = 32
FULL = (1 << PRECISION) - 1
HALF = 1 << (PRECISION - 1)
QUARTER = 1 << (PRECISION - 2)
MAX_TOTAL = 1 << 24


def check_cdf(cdf: Sequence[int]) -> list[int]:
    """Validate a cumulative frequency table and return it as a list of Python ints."""
    try:
        table = [int(v) for v in cdf]
    except (TypeError, ValueError) as error:
        raise TypeError("cdf must be a 1-D sequence of integers (cumulative frequencies)") \
            from error
    if len(table) < 2:
        raise ValueError(f"cdf must have K + 1 >= 2 entries; got {len(table)}")
    if table[0] != 0:
        raise ValueError(f"cdf[0] must be 0; got {table[0]}")
    if any(b <= a for a, b in pairwise(table)):
        raise ValueError("cdf must be strictly increasing: every symbol needs a frequency of "
                         "at least 1, or it could never be coded")
    if table[-1] > MAX_TOTAL:
        raise ValueError(f"the total frequency cdf[-1] must be at most 2^24 = {MAX_TOTAL}; got "
                         f"{table[-1]}")
    return table


class ArithmeticEncoder:
    """Encode symbols one at a time; `finish()` returns the bytes."""

    def __init__(self) -> None:
        self.low, self.high, self.pending = 0, FULL, 0
        self.bits: list[int] = []
        self.finished = False

    def _emit(self, bit: int) -> None:
        self.bits.append(bit)
        self.bits.extend([1 - bit] * self.pending)  # the straddling bits resolve opposite
        self.pending = 0

    def encode(self, symbol: int, cdf: Sequence[int]) -> None:
        """Narrow the interval to `symbol`'s share of the table."""
        if self.finished:
            raise RuntimeError("the encoder is finished; start a new one")
        table = check_cdf(cdf)
        if not 0 <= symbol < len(table) - 1:
            raise ValueError(f"symbol must be in 0..{len(table) - 2} for this table; got {symbol}")
        span = self.high - self.low + 1
        total = table[-1]
        self.high = self.low + span * table[symbol + 1] // total - 1
        self.low = self.low + span * table[symbol] // total
        while True:
            if self.high < HALF:
                self._emit(0)
            elif self.low >= HALF:
                self._emit(1)
                self.low -= HALF
                self.high -= HALF
            elif self.low >= QUARTER and self.high < 3 * QUARTER:
                self.pending += 1  # the interval straddles the middle: decide later
                self.low -= QUARTER
                self.high -= QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1

    def finish(self) -> bytes:
        """Two more bits pick a point inside the final interval; pad to whole bytes."""
        if not self.finished:
            self.pending += 1
            self._emit(0 if self.low < QUARTER else 1)
            self.finished = True
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


class ArithmeticDecoder:
    """Decode the symbols of `data`, given the same tables the encoder used.

    Raises ValueError when the stream ends too early: past its end the decoder reads zeros
    (the encoder's padding), but never more than PRECISION of them for a complete stream.
    """

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"data must be bytes; got {type(data).__name__}")
        self.data = bytes(data)
        self.position = 0
        self.low, self.high, self.value = 0, FULL, 0
        for _ in range(PRECISION):
            self.value = 2 * self.value + self._bit()

    def _bit(self) -> int:
        byte, offset = divmod(self.position, 8)
        self.position += 1
        if byte >= len(self.data):
            if self.position > 8 * len(self.data) + PRECISION:
                raise ValueError("the stream is truncated: the decoder needed more bits than "
                                 "the data holds (was every byte stored?)")
            return 0
        return (self.data[byte] >> (7 - offset)) & 1

    def decode(self, cdf: Sequence[int]) -> int:
        """The next symbol, coded with table `cdf`."""
        table = check_cdf(cdf)
        span = self.high - self.low + 1
        total = table[-1]
        scaled = ((self.value - self.low + 1) * total - 1) // span
        symbol = bisect_right(table, scaled) - 1
        if not 0 <= symbol < len(table) - 1:
            raise ValueError("the stream does not decode with this table: it is corrupt, or "
                             "the tables differ from the encoder's")
        self.high = self.low + span * table[symbol + 1] // total - 1
        self.low = self.low + span * table[symbol] // total
        while True:
            if self.high < HALF:
                pass
            elif self.low >= HALF:
                self.low -= HALF
                self.high -= HALF
                self.value -= HALF
            elif self.low >= QUARTER and self.high < 3 * QUARTER:
                self.low -= QUARTER
                self.high -= QUARTER
                self.value -= QUARTER
            else:
                break
            self.low = 2 * self.low
            self.high = 2 * self.high + 1
            self.value = 2 * self.value + self._bit()
        return symbol
