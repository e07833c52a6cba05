"""Each checker of lecture 02 recognises the typical mistakes and says what is wrong."""

import itertools
import math

import pytest
import torch

from gmlib.exercises import check, lecture02

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda g, k: sum(k[v] * math.prod(k[p] for p in ps) for v, ps in g.items()),
     "k - 1 free entries"),
    (lambda g, k: sum(k[v] - 1 for v in g), "product of its parents"),
])
def test_bn_parameter_mistakes(answer, hint):
    verdict = _verdict("02.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _sorted_without_cycle_check(parents):
    order, done = [], set()
    for _ in range(len(parents)):
        for v, ps in parents.items():
            if v not in done and set(ps) <= done:
                order.append(v)
                done.add(v)
    return order


def _crashes_on_cycles(parents):
    order = _sorted_without_cycle_check(parents)
    if len(order) < len(parents):
        raise KeyError("a variable never became ready")  # the wrong exception type
    return order


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda g: list(g), "comes after its child"),
    (lambda g: list(g)[:-1], "each variable once"),
    (_sorted_without_cycle_check, "raise ValueError instead of returning"),
    (lambda g: _crashes_on_cycles(g), "should raise ValueError"),
])
def test_topological_sort_mistakes(answer, hint):
    verdict = _verdict("02.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _ve(**variant):
    from gmlib.exercises.lecture02 import _eliminate
    return lambda tables, target, evidence: _eliminate(tables._net, target, evidence, **variant)


def _elimination_loop(tables, target, evidence):
    """A learner's variable elimination: one variable at a time, factors as (table, axes)."""
    factors = []
    for v in tables.variables:
        table, axes = tables.cpt(v), [*tables.parents[v], v]
        for u, value in evidence.items():
            if u in axes:
                table, axes = table.select(axes.index(u), value), [a for a in axes if a != u]
        factors.append((table, axes))
    for v in tables.variables:
        if v == target or v in evidence:
            continue
        used = [f for f in factors if v in f[1]]
        factors = [f for f in factors if v not in f[1]]
        axes = list(dict.fromkeys(a for _, f_axes in used for a in f_axes))
        letter = {a: chr(97 + i) for i, a in enumerate(axes)}
        kept = [a for a in axes if a != v]
        spec = ",".join("".join(letter[a] for a in f_axes) for _, f_axes in used)
        spec += "->" + "".join(letter[a] for a in kept)
        factors.append((torch.einsum(spec, *[t for t, _ in used]), kept))
    result = torch.ones(tables.cardinality[target], dtype=torch.float64)
    for table, _ in factors:
        result = result * table
    return result / result.sum()


@pytest.mark.parametrize(("answer", "hint"), [
    (_elimination_loop, None),
    (_ve(), None),
    (_ve(normalise=False), "divide by their sum"),
    (_ve(slice_own=False), "p(e | parents)"),
    (_ve(slice_children=False), "children's tables must be sliced"),
    (lambda tables, t, e: _ve()(tables, t, {}), "the evidence had no effect"),
    (lambda tables, t, e: 0.5 * _ve()(tables, t, e), "must sum to one"),
    (lambda tables, t, e: torch.tensor(0.5), "one probability per value"),
])
def test_variable_elimination_diagnoses(answer, hint):
    assert_verdict("02.3", answer, hint)


def _enumeration(tables, target, evidence):
    """Sums the joint over every state: right on small networks, hopeless on long ones."""
    variables = tables.variables
    result = torch.zeros(tables.cardinality[target], dtype=torch.float64)
    for states in itertools.product(*[range(tables.cardinality[v]) for v in variables]):
        value = dict(zip(variables, states, strict=True))
        if any(value[u] != e for u, e in evidence.items()):
            continue
        p = 1.0
        for v in variables:
            p *= float(tables.cpt(v)[tuple(value[u] for u in [*tables.parents[v], v])])
        result[value[target]] += p
    return result / result.sum()


def _full_joint(tables, target, evidence):
    """Allocates the joint table as one tensor first: impossible on the long chain."""
    torch.empty([tables.cardinality[v] for v in tables.variables], dtype=torch.float64)
    return _ve()(tables, target, evidence)


@pytest.mark.parametrize("answer", [_enumeration, _full_joint])
def test_variable_elimination_rejects_enumeration(answer, monkeypatch):
    monkeypatch.setattr(lecture02, "_DEADLINE_SECONDS", 2.0)
    verdict = _verdict("02.3", answer)
    assert verdict.status == "incorrect" and "2^45 joint states" in verdict.message


def test_variable_elimination_other_errors_are_not_called_enumeration():
    def letters_by_variable(tables, target, evidence):
        if len(tables.variables) > 26:  # chr(97 + i) runs past "z"
            torch.einsum("a{", torch.ones(2))
        return _ve()(tables, target, evidence)

    verdict = _verdict("02.3", letters_by_variable)
    assert verdict.status == "error" and "2^45" not in verdict.message


def test_variable_elimination_cannot_delegate_to_query():
    verdict = _verdict("02.3", lambda tables, t, e: tables.query(t, e))
    assert verdict.status == "error" and "query" in verdict.message


def _product_of_probabilities(x, prior, probs):
    likelihood = (probs[None] ** x[:, None] * (1 - probs[None]) ** (1 - x[:, None])).prod(-1)
    joint = prior * likelihood
    return joint / joint.sum(1, keepdim=True)


def test_naive_bayes_mistakes():
    verdict = _verdict("02.4", _product_of_probabilities)
    assert verdict.status == "incorrect" and "underflows" in verdict.message
    verdict = _verdict("02.4", lambda x, prior, probs: torch.softmax(x @ probs.log().T, 1))
    assert verdict.status == "incorrect" and "differ" in verdict.message


def _posterior_of_first(x, pi, mu, sigma):
    log_n = torch.distributions.Normal(mu, sigma).log_prob(x[:, None])
    log_joint = log_n + torch.tensor([1 - pi, pi], dtype=x.dtype).log()
    return torch.softmax(log_joint, 1)[:, 0]


def _no_normaliser(x, pi, mu, sigma):
    log_n = -0.5 * ((x[:, None] - mu) / sigma) ** 2  # forgets -log sigma
    log_joint = log_n + torch.tensor([1 - pi, pi], dtype=x.dtype).log()
    return torch.softmax(log_joint, 1)[:, 1]


@pytest.mark.parametrize(("answer", "hint"), [
    (_posterior_of_first, "p(z = 0 | x)"),
    (_no_normaliser, "1/sigma factor"),
    (lambda x, pi, mu, sigma: x[:3], "a tensor of shape"),
])
def test_responsibility_mistakes(answer, hint):
    verdict = _verdict("02.5", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
