"""Each checker of lecture 01 recognises the typical mistakes and says what is wrong."""

import pytest
import torch

from gmlib.exercises import check

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, k, a: 1.0, "return a tensor of shape (k,)"),
    (lambda x, k, a: (torch.bincount(x, minlength=k) + a) / (len(x) + a), "do not sum to one"),
    (lambda x, k, a: torch.bincount(x, minlength=k) / len(x), "plain frequencies"),
    (lambda x, k, a: torch.full((k,), 1 / k), "expected"),
])
def test_categorical_mle_mistakes(answer, hint):
    verdict = _verdict("01.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda n, k, m: n * k**m * (k - 1), "fewer than"),
    (lambda n, k, m: 2 * n - 1, "min(i - 1, order)"),
])
def test_markov_parameter_mistakes(answer, hint):
    verdict = _verdict("01.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_bayes_rule_mistakes():
    verdict = _verdict("01.3", lambda prior, likelihood: prior * likelihood)
    assert verdict.status == "incorrect" and "divide by its sum" in verdict.message
    verdict = _verdict("01.3", lambda prior, likelihood: likelihood / likelihood.sum())
    assert verdict.status == "incorrect" and "base-rate neglect" in verdict.message
    verdict = _verdict("01.3", lambda prior, likelihood: likelihood)
    assert verdict.status == "incorrect" and "not p(c | e)" in verdict.message
    verdict = _verdict("01.3", lambda prior, likelihood: prior)
    assert verdict.status == "incorrect" and "expected" in verdict.message


def _marginals(joint):
    n = joint.dim()
    return [joint.sum(tuple(range(i + 1, n))) if i < n - 1 else joint for i in range(n)]


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda joint: joint, "return a list of n factors"),
    (lambda joint: _marginals(joint), "each row (last axis) must sum to one"),
])
def test_chain_rule_mistakes(answer, hint):
    verdict = _verdict("01.4", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _cmi_bits(joint):
    p_y = joint.sum((0, 2), keepdim=True)
    ratio = joint * p_y / (joint.sum(2, keepdim=True) * joint.sum(0, keepdim=True))
    return float((joint * ratio.log2()).sum())


def _mutual_information(joint):  # forgets to condition: I(x; z)
    p_xz = joint.sum(1)
    return float((p_xz * (p_xz / (p_xz.sum(1, keepdim=True) * p_xz.sum(0))).log()).sum())


def _cmi_given_last_axis(joint):  # conditions on z instead of y: I(x; y | z)
    p_z = joint.sum((0, 1), keepdim=True)
    ratio = joint * p_z / (joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True))
    return float((joint * ratio.log()).sum())


@pytest.mark.parametrize(("answer", "hint"), [
    (_cmi_bits, "in bits"),
    (_mutual_information, "must be 0"),
    (_cmi_given_last_axis, "conditions on the middle axis"),
])
def test_conditional_mutual_information_mistakes(answer, hint):
    verdict = _verdict("01.5", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_neighbour_parents_mistakes():
    def left_only(h, w):
        names = [f"p{i}" for i in range(h * w)]
        return {n: [names[i - 1]] if i % w else [] for i, n in enumerate(names)}

    verdict = _verdict("01.6", left_only)
    assert verdict.status == "incorrect" and "should have the parents" in verdict.message
    verdict = _verdict("01.6", lambda h, w: {"p0": ["p1"], "p1": ["p0"]})
    assert verdict.status == "incorrect" and "one entry per pixel" in verdict.message
    cyclic = {f"p{i}": [f"p{(i + 1) % 64}"] for i in range(64)}
    columns = {f"x{i}": [] for i in range(64)}
    verdict = _verdict("01.6", lambda h, w: columns)
    assert verdict.status == "incorrect" and "name the pixels 'p0'" in verdict.message
    verdict = _verdict("01.6", lambda h, w: cyclic)
    assert verdict.status == "incorrect" and "not a valid graph" in verdict.message


def _chain(**variant):
    from gmlib.exercises.lecture01 import _markov_nll
    return lambda train, test, order, alpha: _markov_nll(train, test, order, alpha, **variant)


@pytest.mark.parametrize(("answer", "hint"), [
    (_chain(), None),
    (lambda tr, te, o, a: _chain()(tr, te, o, a) / 0.6931471805599453, "value in bits"),
    (lambda tr, te, o, a: _chain()(tr, te, o, a) * len(te), "mean per image"),
    (lambda tr, te, o, a: _chain()(tr, tr, o, a), "training NLL"),
    (lambda tr, te, o, a: _chain()(tr, te, o, 0.0), "pseudo-count is missing"),
    # unsmoothed counts that divide 0 by 0 for an unseen parent configuration
    (lambda tr, te, o, a: float("nan"), "0 / 0 = NaN"),
    (_chain(denominator_levels=1), "N_row + 2 alpha"),
    (_chain(skip_first=True), "missing from the likelihood"),
    (lambda tr, te, o, a: _chain()(tr, te, o + 1 if o else 0, a), "chain of order 2"),
    (lambda tr, te, o, a: "25", "return one number"),
])
def test_markov_chain_nll_diagnoses(answer, hint):
    assert_verdict("01.8", answer, hint)


def test_neighbour_parents_in_any_listing_order():
    def right(h, w):
        names = [f"p{i}" for i in range(h * w)]
        graph = {n: ([names[i - 1]] if i % w else []) + ([names[i - w]] if i >= w else [])
                 for i, n in enumerate(names)}
        return dict(sorted(graph.items()))  # "p0", "p1", "p10", ...: not raster order

    assert _verdict("01.6", right).passed
