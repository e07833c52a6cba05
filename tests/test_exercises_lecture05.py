"""Each checker of lecture 05 recognises the typical mistakes and says what is wrong."""

import pytest
import torch
import torch.nn.functional as F

from gmlib.exercises import check

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _fvsbn(x, w, b, *, keep, sign=1):
    logits = x @ keep(w).T + b
    return sign * (x * logits - F.softplus(logits)).sum(1)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, w, b: _fvsbn(x, w, b, keep=lambda m: m), "strictly lower triangle"),
    (lambda x, w, b: _fvsbn(x, w, b, keep=torch.tril), "diagonal"),
    (lambda x, w, b: _fvsbn(x, w, b, keep=lambda m: torch.tril(m, -1), sign=-1), "negative"),
])
def test_fvsbn_mistakes(answer, hint):
    verdict = _verdict("05.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_fvsbn_correct():
    assert _verdict("05.1", lambda x, w, b: _fvsbn(x, w, b, keep=lambda m: torch.tril(
        m, -1))).passed


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, w, c: c + torch.cumsum(x[..., None] * w.T, 1), "exclusive cumsum"),
    (lambda x, w, c: torch.sigmoid(c + torch.cumsum(x[..., None] * w.T, 1)
                                   - x[..., None] * w.T), "before the sigmoid"),
])
def test_nade_mistakes(answer, hint):
    verdict = _verdict("05.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda di, dh: ((dh[:, None] > di).double(), (di[:, None] > dh).double()), "(>=, not >)"),
    (lambda di, dh: ((dh[:, None] >= di).double(), (di[:, None] >= dh).double()), "strict >"),
    (lambda di, dh: ((dh[:, None] >= di).double().T, (di[:, None] > dh).double()),
     "(H, D)"),
])
def test_made_mask_mistakes(answer, hint):
    verdict = _verdict("05.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda d: (2**d, d * (d + 1) // 2, 201 * d + 100), "one fewer"),
    (lambda d: (2**d - 1, d * d, 201 * d + 100), "strictly lower triangular"),
    (lambda d: (2**d - 1, d * (d + 1) // 2, 2 * d * 100), "2DH + D + H"),
])
def test_count_mistakes(answer, hint):
    verdict = _verdict("05.4", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _nade_sampler(w, c, v, b, order, uniforms):
    """A learner's O(DH) sampler, written independently of the checker's reference."""
    d, n = uniforms.shape
    x = torch.zeros(n, d, dtype=w.dtype)
    a = c.repeat(n, 1)
    for step, i in enumerate(order.tolist()):
        p = torch.sigmoid(b[i] + torch.sigmoid(a) @ v[i])
        x[:, i] = (uniforms[step] < p).to(x.dtype)
        a += x[:, i, None] * w[:, i]
    return x


def _nade_mistake(flag):
    from gmlib.exercises.lecture05 import _nade_sample_reference
    return lambda *args: _nade_sample_reference(*args, **{flag: True})


@pytest.mark.parametrize(("answer", "hint"), [
    (_nade_sampler, None),
    (_nade_mistake("raster"), "follow the ordering"),
    (_nade_mistake("uniform_by_variable"), "uses uniforms[r]"),
    (_nade_mistake("never_update"), "add W[:, i] x_i"),
    (_nade_mistake("inverted"), "when u < p"),
    (_nade_mistake("no_sigmoid"), "h = sigmoid(a)"),
    (lambda *args: 1 - _nade_sampler(*args), "variables differ"),
    (lambda *args: _nade_sampler(*args).T, "shape (n, D)"),
])
def test_nade_sampler_exercise_diagnoses(answer, hint):
    assert_verdict("05.7", answer, hint)


def test_fvsbn_transposed_triangle_is_named():
    def transposed(x, w, b):
        logits = x @ torch.tril(w, diagonal=-1) + b
        return (x * logits - F.softplus(logits)).sum(1)

    assert_verdict("05.1", transposed, "without the transpose")


def test_nade_hidden_loop_is_named():
    def loop(x, w, c):
        return torch.stack([c + x[:, :i] @ w[:, :i].T for i in range(x.shape[1])], 1)

    assert_verdict("05.2", loop, "a Python loop over d")


def test_nade_sampler_that_recomputes_the_sum_is_named():
    def quadratic(w, c, v, b, order, uniforms):
        d, n = uniforms.shape
        x = torch.zeros(n, d, dtype=w.dtype)
        for step, i in enumerate(order.tolist()):
            a = c + x @ w.T  # every drawn value again at each step: O(D^2 H)
            p = torch.sigmoid(b[i] + torch.sigmoid(a) @ v[i])
            x[:, i] = (uniforms[step] < p).to(w.dtype)
        return x

    assert_verdict("05.7", quadratic, "O(D^2 H)")
