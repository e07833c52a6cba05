import math

import pytest
import torch

from gmlib.bayesnet import DiscreteBayesNet
from gmlib.discrete import (
    bayesnet_parameters,
    bernoulli_mle,
    categorical_mle,
    chain_rule_parameters,
    chain_rule_structure,
    conditional_mle,
    full_joint_parameters,
    independent_parameters,
    independent_structure,
    markov_chain_parameters,
    markov_chain_structure,
)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 30])
def test_binary_closed_forms_of_lecture_01(n):
    assert full_joint_parameters(n) == 2**n - 1
    assert independent_parameters(n) == n
    assert markov_chain_parameters(n) == 2 * n - 1
    assert chain_rule_parameters(n) == [2**i for i in range(n)]  # 1 + 2 + ... + 2^(n-1)
    assert sum(chain_rule_parameters(n)) == full_joint_parameters(n)


def test_one_rgb_pixel():
    assert full_joint_parameters(3, 256) == 256**3 - 1 == 16_777_215
    assert independent_parameters(3, 256) == 3 * 255


@pytest.mark.parametrize(("n", "k"), [(1, 2), (4, 3), (6, 5), (64, 17)])
def test_markov_chain_orders_interpolate_between_independent_and_full(n, k):
    assert markov_chain_parameters(n, k, order=0) == independent_parameters(n, k)
    assert markov_chain_parameters(n, k, order=n - 1) == full_joint_parameters(n, k)
    assert markov_chain_parameters(n, k, order=1) == (k - 1) + (n - 1) * k * (k - 1)
    counts = [markov_chain_parameters(n, k, order=m) for m in range(n)]
    assert counts == sorted(counts)


@pytest.mark.parametrize(("n", "k"), [(1, 2), (5, 2), (4, 3), (7, 4)])
def test_bayesnet_count_reproduces_each_factorisation(n, k):
    names = [f"x{i}" for i in range(n)]
    assert bayesnet_parameters(independent_structure(names), k) == independent_parameters(n, k)
    assert bayesnet_parameters(chain_rule_structure(names), k) == full_joint_parameters(n, k)
    for order in range(n):
        graph = markov_chain_structure(names, order)
        assert bayesnet_parameters(graph, k) == markov_chain_parameters(n, k, order)
        assert DiscreteBayesNet(graph, k).n_parameters == markov_chain_parameters(n, k, order)


def test_bayesnet_count_with_mixed_cardinalities():
    # the student network of Koller & Friedman: D, I, S binary; G three grades; L binary
    graph = {"D": [], "I": [], "G": ["D", "I"], "S": ["I"], "L": ["G"]}
    cards = {"D": 2, "I": 2, "G": 3, "S": 2, "L": 2}
    assert bayesnet_parameters(graph, cards) == 1 + 1 + 4 * 2 + 2 * 1 + 3 * 1 == 15


@pytest.mark.parametrize(("call", "match"), [
    (lambda: full_joint_parameters(0), "n_vars must be an int >= 1"),
    (lambda: independent_parameters(3, 1), "n_levels must be an int >= 2"),
    (lambda: markov_chain_parameters(3, 2, order=-1), "order must be an int >= 0"),
    (lambda: chain_rule_parameters(2.0), "n_vars must be an int"),
    (lambda: bayesnet_parameters({"a": []}, {"b": 2}), "no entry for variable 'a'"),
    (lambda: bayesnet_parameters({"a": []}, {"a": 2, "b": 2}), "not in the graph"),
    (lambda: bayesnet_parameters({"a": []}, {"a": 1}), r"cardinality\['a'\] must be"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cardinality_of_wrong_type():
    with pytest.raises(TypeError, match="cardinality must be an int or a dict"):
        bayesnet_parameters({"a": []}, [2])


def test_categorical_mle_counts_with_dirichlet_smoothing():
    x = torch.tensor([[0, 2], [0, 1], [1, 2], [0, 2]])
    assert torch.allclose(categorical_mle(x, 3), torch.tensor([[3, 1, 0], [0, 1, 3]]) / 4.0)
    smoothed = categorical_mle(x, 3, alpha=1.0)
    assert torch.allclose(smoothed, torch.tensor([[4, 2, 1], [1, 2, 4]]) / 7.0)
    assert torch.allclose(categorical_mle(x.double(), 3).sum(-1), torch.ones(2, dtype=torch.double))


def test_bernoulli_mle_is_the_smoothed_frequency_of_ones():
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    assert torch.allclose(bernoulli_mle(x), torch.tensor([2 / 3, 0.0]))
    assert torch.allclose(bernoulli_mle(x, alpha=0.5), torch.tensor([2.5 / 4, 0.5 / 4]))
    images = torch.ones(5, 1, 8, 8)
    assert bernoulli_mle(images, alpha=1.0).shape == (1, 8, 8)


def test_mle_maximises_the_likelihood():
    """Moving probability away from the frequencies lowers the log-likelihood."""
    x = torch.randint(4, (200, 1), generator=torch.Generator().manual_seed(0))
    p = categorical_mle(x, 4)[0].double()
    counts = torch.bincount(x[:, 0], minlength=4).double()
    best = float((counts * p.log()).sum())
    for shift in (torch.tensor([0.05, -0.05, 0, 0]), torch.tensor([-0.02, 0, 0.01, 0.01])):
        assert float((counts * (p + shift.double()).log()).sum()) < best


@pytest.mark.parametrize(("call", "match"), [
    (lambda: categorical_mle(torch.tensor([[0, 3]]), 3), r"integer levels \{0, ..., 2\}"),
    (lambda: categorical_mle(torch.zeros(0, 2), 3), "no samples"),
    (lambda: categorical_mle(torch.zeros(3, 2), 3, alpha=-1), "alpha must be"),
    (lambda: categorical_mle(torch.tensor(1.0), 3), "shape \\(N, ...\\)"),
    (lambda: bernoulli_mle(torch.tensor([[0.5]])), "binary values"),
    (lambda: conditional_mle(torch.zeros(3), torch.zeros(2, 1), 2, [2]), "shape"),
    (lambda: conditional_mle(torch.zeros(2), torch.full((2, 1), 2.0), 2, [2]),
     r"parents\[:, 0\] must hold binary"),
])
def test_mle_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_conditional_mle_counts_per_parent_configuration():
    parents = torch.tensor([[0, 0], [0, 0], [0, 1], [1, 1], [1, 1], [1, 1]])
    child = torch.tensor([0, 1, 2, 2, 2, 0])
    table = conditional_mle(child, parents, 3, [2, 2])
    assert table.shape == (2, 2, 3)
    assert torch.allclose(table[0, 0], torch.tensor([0.5, 0.5, 0.0]))
    assert torch.allclose(table[0, 1], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(table[1, 0], torch.full((3,), 1 / 3))  # never seen: uniform
    assert torch.allclose(table[1, 1], torch.tensor([1 / 3, 0.0, 2 / 3]))
    smoothed = conditional_mle(child, parents, 3, [2, 2], alpha=1.0)
    assert torch.allclose(smoothed[1, 1], torch.tensor([2, 1, 3]) / 6.0)
    # no parents: the categorical MLE
    alone = conditional_mle(child, torch.zeros(6, 0), 3, [])
    assert torch.allclose(alone, categorical_mle(child[:, None], 3)[0])
    assert math.isclose(float(alone.sum()), 1.0)


def test_structures():
    names = ["a", "b", "c", "d"]
    assert independent_structure(names) == {"a": [], "b": [], "c": [], "d": []}
    assert markov_chain_structure(names) == {"a": [], "b": ["a"], "c": ["b"], "d": ["c"]}
    assert markov_chain_structure(names, 2)["d"] == ["b", "c"]
    assert chain_rule_structure(names)["d"] == ["a", "b", "c"]
