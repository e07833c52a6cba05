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
