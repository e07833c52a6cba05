"""Each checker of lecture 06 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch
import torch.nn.functional as F

from gmlib.exercises import check

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _mask(k, kind, *, transpose=False, swap=False):
    mask = torch.ones(k, k)
    c = k // 2
    keep_centre = (kind == "B") != swap
    mask[c, c + keep_centre:] = 0
    mask[c + 1:] = 0
    return mask.T if transpose else mask


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda k, kind: _mask(k, kind, swap=True), "swapped"),
    (lambda k, kind: _mask(k, kind, transpose=True), "transposed"),
])
def test_pixelcnn_mask_mistakes(answer, hint):
    verdict = _verdict("06.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("06.1", _mask).passed


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda k, d: (k - 1) * sum(d), "count the current input"),
    (lambda k, d: k * sum(d), "(k - 1) d"),
])
def test_receptive_field_mistakes(answer, hint):
    verdict = _verdict("06.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _attention(q, k, v, *, causal=True, scale=True, strict=False):
    scores = q @ k.T / (math.sqrt(q.shape[1]) if scale else 1.0)
    if causal:
        mask = torch.ones_like(scores, dtype=torch.bool).triu(0 if strict else 1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda q, k, v: _attention(q, k, v, causal=False), "future"),
    (lambda q, k, v: _attention(q, k, v, scale=False), "sqrt(d)"),
    (lambda q, k, v: _attention(q, k, v, strict=True), "attend to itself"),
])
def test_attention_mistakes(answer, hint):
    verdict = _verdict("06.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("06.3", _attention).passed


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda logits, x: -logits.gather(-1, x[..., None]).squeeze(-1).sum(1), "log_softmax"),
    (lambda logits, x: F.cross_entropy(logits.transpose(1, 2), x, reduction="none").mean(1),
     "do not average"),
])
def test_categorical_nll_mistakes(answer, hint):
    verdict = _verdict("06.4", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_correct_answers_pass():
    assert _verdict("06.2", lambda k, d: 1 + (k - 1) * sum(d)).passed
    assert _verdict("06.4", lambda logits, x: F.cross_entropy(
        logits.transpose(1, 2), x, reduction="none").sum(1)).passed


def test_mask_keeping_rows_below_or_the_future_is_named():
    def rows_below(k, kind):
        mask = _mask(k, kind)
        mask[k // 2 + 1:] = 1
        return mask

    assert_verdict("06.1", rows_below, "rows below the centre")
    assert_verdict("06.1", lambda k, kind: torch.ones(k, k).tril(-1 if kind == "A" else 0),
                   "keeps future pixels")


def test_receptive_field_two_to_the_l_is_named():
    assert_verdict("06.2", lambda k, d: 2 ** len(d), "2^L holds only for k = 2")


def test_attention_softmax_over_the_wrong_axis_is_named():
    def wrong_axis(q, k, v):
        scores = (q @ k.T / math.sqrt(q.shape[1])).masked_fill(
            torch.ones(len(q), len(q), dtype=torch.bool).triu(1), float("-inf"))
        return torch.softmax(scores, dim=0).nan_to_num() @ v

    assert_verdict("06.3", wrong_axis, "over the keys j")


def _field_mistake(**flags):
    from gmlib.exercises.lecture06 import _field_reference
    return lambda fn, k, shape, pixel: _field_reference(fn, k, shape, pixel, **flags)


def _field_by_gradients(fn, n_levels, image_shape, pixel):
    """A learner's answer, written apart from the checker's reference."""
    height, width = image_shape
    x = F.one_hot(torch.randint(n_levels, (16, height * width)), n_levels).double()
    x.requires_grad_(True)
    fn(x)[:, pixel[0] * width + pixel[1]].sum().backward()
    return (x.grad.abs().sum((0, 2)) > 0).reshape(height, width)


@pytest.mark.parametrize(("answer", "hint"), [
    (_field_by_gradients, None),
    (_field_mistake(every_output=True), "sum of every output"),
    (_field_mistake(one_input=True), "several random one-hot inputs"),
    (lambda *args: _field_mistake()(*args).T, "rows first"),
    (lambda *args: torch.ones(7, 7, dtype=torch.bool), "no effect"),
    (lambda *args: [[True]], "boolean map"),
])
def test_receptive_field_by_gradients_diagnoses(answer, hint):
    assert_verdict("06.7", answer, hint)
