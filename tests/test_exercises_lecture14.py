"""Each checker of lecture 14 recognises the typical mistakes and says what is wrong."""

import torch

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def test_shannon_lengths():
    assert _verdict("14.1", lambda p: torch.ceil(-torch.log2(p))).passed
    for answer, hint in [(lambda p: -torch.log2(p), "round -log2 p *up*"),
                         (lambda p: torch.floor(-torch.log2(p)), "rounding down"),
                         (lambda p: p, "ceil(-log2 p)"),
                         (lambda p: p[:2], "shape")]:
        verdict = _verdict("14.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_narrow():
    def right(low, high, cdf, s):
        width = high - low
        return low + width * cdf[s], low + width * cdf[s + 1]

    assert _verdict("14.2", right).passed
    for answer, hint in [
        (lambda lo, hi, c, s: ((hi - lo) * c[s], (hi - lo) * c[s + 1]), "starts at low"),
        (lambda lo, hi, c, s: (c[s], c[s + 1]), "expected"),
        (lambda lo, hi, c, s: lo, "return a tuple"),
    ]:
        verdict = _verdict("14.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _push(n, s, cdf):
    f = cdf[s + 1] - cdf[s]
    return (n // f) * cdf[-1] + cdf[s] + n % f


def _pop(n, cdf):
    r = n % cdf[-1]
    s = max(i for i in range(len(cdf) - 1) if cdf[i] <= r)
    return (cdf[s + 1] - cdf[s]) * (n // cdf[-1]) + r - cdf[s], s


def test_rans():
    assert _verdict("14.3", (_push, _pop)).passed
    wrong_push = (lambda n, s, cdf: n * cdf[-1] + cdf[s], _pop)
    wrong_pop = (_push, lambda n, cdf: (n // cdf[-1], 0))
    for answer, hint in [(wrong_push, "push("), (wrong_pop, "pop("), (_push, "tuple")]:
        verdict = _verdict("14.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _streaming_pair(*, reverse=True, mask=2**32 - 1, uniform=False):
    def flat(cdf):  # the mistake of ignoring the model: every symbol equally likely
        k = len(cdf) - 1
        return [round(i * cdf[-1] / k) for i in range(k + 1)]

    def encode(symbols, tables):
        tables = [flat(c) for c in tables] if uniform else tables
        state, words = 2**32, []
        order = reversed(range(len(symbols))) if reverse else range(len(symbols))
        for i in order:
            cdf, s = tables[i], symbols[i]
            start, freq, total = cdf[s], cdf[s + 1] - cdf[s], cdf[-1]
            while state >= (2**48) * freq:
                words.append(state & mask)
                state >>= 32
            state = (state // freq) * total + start + state % freq
        return [*words, state & (2**32 - 1), state >> 32]

    def decode(words, tables):
        tables = [flat(c) for c in tables] if uniform else tables
        words = list(words)
        state = (words.pop() << 32) | words.pop()
        symbols = []
        for cdf in tables:
            total = cdf[-1]
            slot = state % total
            s = next(k for k in range(len(cdf) - 1) if cdf[k] <= slot < cdf[k + 1])
            state = (cdf[s + 1] - cdf[s]) * (state // total) + slot - cdf[s]
            while state < 2**32 and words:
                state = (state << 32) | words.pop()
            symbols.append(s)
        return symbols

    return encode, decode


def test_streaming_rans():
    assert _verdict("14.6", _streaming_pair()).passed
    for pair, hint in [(_streaming_pair(reverse=False), "reversed"),
                       (_streaming_pair(mask=2**40 - 1), "32 bits"),
                       (_streaming_pair(uniform=True), "its own table")]:
        verdict = _verdict("14.6", pair)
        assert verdict.status == "incorrect" and hint in verdict.message, verdict.message
