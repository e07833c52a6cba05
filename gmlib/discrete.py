"""Discrete distributions by counting: parameter counts of factorisations, and their MLE.

Lecture 01 compares ways to factorise a joint distribution of n variables with k values each:

| factorisation | free parameters | binary (k = 2) |
|---|---|---|
| full joint table | k^n - 1 | 2^n - 1 |
| chain rule, no assumption | sum_i k^(i-1) (k-1) = k^n - 1 | 1 + 2 + ... + 2^(n-1) |
| independent | n (k - 1) | n |
| Markov chain of order m | sum_i k^min(i-1, m) (k-1) | 2n - 1 for m = 1 |
| Bayesian network | sum_v (k_v - 1) prod_{u in pa(v)} k_u | |

The maximum-likelihood estimate of a Bernoulli or categorical distribution is the vector of
relative frequencies; adding `alpha` pseudo-counts to every value is the posterior mean under
a symmetric Dirichlet(alpha) prior (alpha = 1: Laplace; alpha = 1/2: Krichevsky-Trofimov).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from gmlib.dag import Parents, check_dag
from gmlib.validation import Support, check_int, check_nonnegative, check_support, check_tensor

__all__ = [
    "bayesnet_parameters",
    "bernoulli_mle",
    "categorical_mle",
    "chain_rule_parameters",
    "chain_rule_structure",
    "conditional_mle",
    "full_joint_parameters",
    "independent_parameters",
    "independent_structure",
    "markov_chain_parameters",
    "markov_chain_structure",
]


# ---------------------------------------------------------------- parameter counts


def full_joint_parameters(n_vars: int, n_levels: int = 2) -> int:
    """Free parameters of a table over all k^n joint states: k^n - 1 (they sum to one)."""
    check_int(n_vars, "n_vars", 1)
    check_int(n_levels, "n_levels", 2)
    return n_levels**n_vars - 1


def independent_parameters(n_vars: int, n_levels: int = 2) -> int:
    """Free parameters of n independent k-valued variables: n (k - 1)."""
    check_int(n_vars, "n_vars", 1)
    check_int(n_levels, "n_levels", 2)
    return n_vars * (n_levels - 1)


def markov_chain_parameters(n_vars: int, n_levels: int = 2, order: int = 1) -> int:
    """Free parameters of p(x_1) prod_i p(x_i | x_{i-order}, ..., x_{i-1}).

    Variable i (counting from 1) has min(i - 1, order) parents, hence k^min(i-1, order) rows of
    k - 1 free numbers. Order 1 with binary variables gives 1 + 2 (n - 1) = 2n - 1; order
    n - 1 is the full chain rule (k^n - 1), order 0 the independent model.
    """
    check_int(n_vars, "n_vars", 1)
    check_int(n_levels, "n_levels", 2)
    check_int(order, "order", 0)
    return sum(n_levels ** min(i, order) * (n_levels - 1) for i in range(n_vars))


def chain_rule_parameters(n_vars: int, n_levels: int = 2) -> list[int]:
    """Free parameters of each factor p(x_i | x_1, ..., x_{i-1}) of the chain rule.

    Factor i (from 1) has k^(i-1) rows of k - 1 numbers; the list sums to k^n - 1, the full
    joint: the chain rule alone assumes nothing.
    """
    check_int(n_vars, "n_vars", 1)
    check_int(n_levels, "n_levels", 2)
    return [n_levels**i * (n_levels - 1) for i in range(n_vars)]


def bayesnet_parameters(parents: Parents, cardinality: Mapping[str, int] | int = 2) -> int:
    """Free parameters of a Bayesian network: sum_v (k_v - 1) prod_{u in pa(v)} k_u.

    Args:
        parents: `{variable: [its parents]}`, a DAG.
        cardinality: the number of values of each variable, or one int for all.
    """
    graph = check_dag(parents)
    cards = _cardinalities(graph, cardinality)
    return sum((cards[v] - 1) * math.prod(cards[p] for p in ps) for v, ps in graph.items())


def _cardinalities(graph: Mapping[str, Sequence[str]],
                   cardinality: Mapping[str, int] | int) -> dict[str, int]:
    """`{variable: k}` for every variable, checked."""
    if isinstance(cardinality, int) and not isinstance(cardinality, bool):
        cardinality = dict.fromkeys(graph, cardinality)
    if not isinstance(cardinality, Mapping):
        raise TypeError(f"cardinality must be an int or a dict {{variable: int}}; got "
                        f"{type(cardinality).__name__}")
    cards = {}
    for v in graph:
        if v not in cardinality:
            raise ValueError(f"cardinality has no entry for variable {v!r}")
        cards[v] = check_int(cardinality[v], f"cardinality[{v!r}]", 2)
    extra = sorted(set(cardinality) - set(graph))
    if extra:
        raise ValueError(f"cardinality names variables that are not in the graph: {extra}")
    return cards


# ---------------------------------------------------------------- structures


def independent_structure(names: Sequence[str]) -> dict[str, list[str]]:
    """The graph with no edges: every variable independent."""
    return {v: [] for v in names}


def markov_chain_structure(names: Sequence[str], order: int = 1) -> dict[str, list[str]]:
    """Each variable's parents are the `order` variables before it."""
    check_int(order, "order", 0)
    return {v: list(names[max(0, i - order):i]) for i, v in enumerate(names)}


def chain_rule_structure(names: Sequence[str]) -> dict[str, list[str]]:
    """Each variable's parents are all the variables before it: the full joint."""
    return {v: list(names[:i]) for i, v in enumerate(names)}


# ---------------------------------------------------------------- estimation by counting


def categorical_mle(x: Tensor, n_levels: int, *, alpha: float = 0.0) -> Tensor:
    """Smoothed relative frequencies of the levels of each coordinate.

    Args:
        x: samples with integer values 0..k-1.
        n_levels: k.
        alpha: pseudo-count added to every level (0: the plain MLE).

    Shapes:
        x: (N, *shape) -> returns (*shape, k), each row summing to one.
    """
    check_int(n_levels, "n_levels", 2)
    alpha = check_nonnegative(alpha, "alpha")
    check_tensor(x, "x")
    if x.dim() < 1:
        raise ValueError(f"x must have shape (N, ...) with one sample a row; got a "
                         f"{x.dim()}-d tensor")
    check_support(x, Support.levels(n_levels), "x")
    if x.shape[0] == 0 and alpha == 0:
        raise ValueError("x holds no samples: with alpha = 0 the MLE is undefined")
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    counts = torch.nn.functional.one_hot(x.long(), n_levels).sum(0).to(dtype) + alpha
    return counts / counts.sum(-1, keepdim=True)


def bernoulli_mle(x: Tensor, *, alpha: float = 0.0) -> Tensor:
    """P(x_d = 1) for binary data: (ones + alpha) / (N + 2 alpha).

    Shapes:
        x: (N, *shape) -> returns shape
    """
    return categorical_mle(x, 2, alpha=alpha)[..., 1]


def conditional_mle(child: Tensor, parents: Tensor, child_levels: int,
                    parent_levels: Sequence[int], *, alpha: float = 0.0) -> Tensor:
    """A conditional probability table p(child | parents) by counting.

    Row `(u_1, ..., u_m)` is the smoothed frequency of each child value among the samples with
    parents equal to `(u_1, ..., u_m)`. A parent configuration that never occurs (with
    alpha = 0) has no MLE; its row is set to uniform, which no training sample ever uses.

    Shapes:
        child: (N,), parents: (N, m) -> returns (*parent_levels, child_levels)
    """
    alpha = check_nonnegative(alpha, "alpha")
    parent_levels = [check_int(k, "parent_levels entries", 2) for k in parent_levels]
    if child.dim() != 1 or parents.dim() != 2 or parents.shape != (len(child),
                                                                    len(parent_levels)):
        raise ValueError(f"child must have shape (N,) and parents (N, {len(parent_levels)}); "
                         f"got {tuple(child.shape)} and {tuple(parents.shape)}")
    check_support(child, Support.levels(child_levels), "child")
    for j, k in enumerate(parent_levels):
        check_support(parents[:, j], Support.levels(k), f"parents[:, {j}]")
    # flatten each (parents, child) configuration to one index and count with bincount
    shape = (*parent_levels, child_levels)
    columns = [*parents.long().unbind(1), child.long()]
    index = torch.zeros_like(child, dtype=torch.long)
    for column, k in zip(columns, shape, strict=True):
        index = index * k + column
    dtype = child.dtype if child.is_floating_point() else torch.get_default_dtype()
    counts = torch.bincount(index, minlength=math.prod(shape)).to(dtype).reshape(shape)
    counts = counts + alpha
    totals = counts.sum(-1, keepdim=True)
    uniform = torch.full_like(counts, 1.0 / child_levels)
    return torch.where(totals > 0, counts / totals.clamp_min(1e-300), uniform)
