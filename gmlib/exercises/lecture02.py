"""Checks for the exercises of lecture 02 (Bayesian networks; generative vs discriminative)."""

from __future__ import annotations

import math

import torch

from gmlib.bayesnet import DiscreteBayesNet, NaiveBayes, student_network
from gmlib.discrete import bayesnet_parameters
from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise

_GRAPHS = [
    ({"a": []}, {"a": 5}),
    ({"D": [], "I": [], "G": ["D", "I"], "S": ["I"], "L": ["G"]},
     {"D": 2, "I": 2, "G": 3, "S": 2, "L": 2}),
    ({"c": ["a", "b"], "a": [], "b": ["a"]}, {"a": 2, "b": 3, "c": 4}),
    ({f"x{i}": [f"x{j}" for j in range(i)] for i in range(6)}, dict.fromkeys(
        [f"x{i}" for i in range(6)], 2)),
]


@exercise("02.1", "Parameters of a Bayesian network")
def _bn_parameters(answer: object) -> str:
    for graph, cards in _GRAPHS:
        want = bayesnet_parameters(graph, cards)
        got = answer(graph, cards)
        if got == want:
            continue
        full = sum(cards[v] * math.prod(cards[p] for p in ps) for v, ps in graph.items())
        if got == full:
            raise Incorrect(f"for {graph} you counted every table entry ({got}); each row of a "
                            f"table sums to one, so it has k - 1 free entries. Expected {want}.")
        raise Incorrect(f"for the graph {graph} with cardinalities {cards} expected {want}; got "
                        f"{got}. Each variable contributes (k_v - 1) × the product of its "
                        "parents' cardinalities.")
    return "sum over variables of (k_v - 1) prod_{u in pa(v)} k_u; the student network needs " \
           f"{bayesnet_parameters(*_GRAPHS[1])} numbers instead of 2·2·3·2·2 - 1 = 47."


@exercise("02.2", "A topological order")
def _topological_sort(answer: object) -> str:
    for graph, _ in _GRAPHS:
        order = answer(graph)
        if not isinstance(order, list | tuple) or sorted(order) != sorted(graph):
            raise Incorrect(f"return a list holding each variable once; for {graph} got "
                            f"{order!r}")
        position = {v: i for i, v in enumerate(order)}
        for child, parents in graph.items():
            late = [p for p in parents if position[p] > position[child]]
            if late:
                raise Incorrect(f"in your order {list(order)} the parent {late[0]!r} comes "
                                f"after its child {child!r}")
    try:
        answer({"a": ["c"], "b": ["a"], "c": ["b"]})
    except ValueError:
        pass
    except Exception as error:  # any other exception is a bug in the answer
        raise Incorrect(f"a cyclic graph should raise ValueError; yours raised "
                        f"{type(error).__name__}: {error}") from None
    else:
        raise Incorrect("the graph a -> b -> c -> a has a cycle and no topological order; "
                        "raise ValueError instead of returning")
    return "repeatedly emit a variable all of whose parents are emitted (Kahn's algorithm); " \
           "if none is left to emit, the rest holds a cycle. Ancestral sampling follows it."


@exercise("02.3", "Inference by enumeration")
def _enumeration(answer: object) -> str:
    cases = [(student_network(), "I", {"G": 2}), (student_network(), "D", {"G": 2, "I": 1}),
             (student_network(), "L", {})]
    for seed in range(3):
        net = DiscreteBayesNet.random(5, max_parents=2, max_cardinality=3, seed=seed)
        cases.append((net, "x1", {"x4": 0, "x3": 1}))
    for net, target, evidence in cases:
        want = net.query(target, evidence)
        got = answer(net, target, evidence)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise Incorrect(f"return a tensor of shape ({net.cardinality[target]},): one "
                            f"probability per value of {target!r}; got {got!r}")
        got = got.detach().double()
        if torch.allclose(got, want, atol=1e-9):
            continue
        if abs(float(got.sum()) - 1) > 1e-6:
            raise Incorrect(f"p({target} | {evidence}) must sum to one; yours sums to "
                            f"{float(got.sum()):.4f}. Divide by p(evidence).")
        raise Incorrect(f"p({target} | {evidence}): expected {want.numpy().round(4)}; got "
                        f"{got.detach().cpu().numpy().round(4)}")
    return "sum p(x) over every joint state consistent with the evidence, grouped by the " \
           "target's value, then normalise: exact, but the number of states grows " \
           "exponentially; variable elimination (net.query) sums one variable at a time."


def _nb_case(n_features: int, seed: int) -> tuple[torch.Tensor, NaiveBayes]:
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(40, n_features, generator=gen) < 0.4).double()
    y = torch.randint(3, (40,), generator=gen)
    return x, NaiveBayes(n_features, 3, alpha=1.0).fit(x, y)


@exercise("02.4", "Naive Bayes by hand")
def _naive_bayes(answer: object) -> str:
    for n_features in (5, 64, 3000):
        x, model = _nb_case(n_features, seed=n_features)
        prior = model.class_log_prior.exp()
        probs = model.feature_log_prob[..., 1].exp()
        want = model.predict_proba(x)
        got = expect_tensor(answer(x, prior, probs), tuple(want.shape), "(B, C)")
        if bool(torch.isnan(got).any()) or (n_features > 1000 and not torch.allclose(
                got, want, atol=1e-6)):
            raise Incorrect(f"with {n_features} features the product of probabilities "
                            "underflows to 0 and 0/0 = NaN. Add log-probabilities instead and "
                            "normalise with torch.softmax (or logsumexp).")
        if not torch.allclose(got, want, atol=1e-6):
            raise Incorrect(f"with {n_features} features your posteriors differ from the "
                            f"expected ones by up to {float((got - want).abs().max()):.3g}. "
                            "p(y|x) ∝ p(y) prod_d θ_yd^x_d (1 - θ_yd)^(1 - x_d).")
    return "log p(y) + sum_d log p(x_d | y), then a softmax over y: in log space the product " \
           "of thousands of probabilities is a harmless sum."


@exercise("02.5", "The posterior of a two-Gaussian mixture")
def _responsibility(answer: object) -> str:
    x = torch.linspace(-6, 8, 57, dtype=torch.float64)
    for pi, mu, sigma in [(0.5, (-1.0, 2.0), (1.0, 1.0)), (0.2, (0.0, 3.0), (0.5, 2.0)),
                          (0.9, (1.0, 1.5), (3.0, 0.3))]:
        mu_t, sigma_t = torch.tensor(mu, dtype=torch.float64), torch.tensor(
            sigma, dtype=torch.float64)
        log_n = torch.distributions.Normal(mu_t, sigma_t).log_prob(x[:, None])  # (N, 2)
        log_joint = log_n + torch.tensor([math.log(1 - pi), math.log(pi)], dtype=torch.float64)
        want = torch.softmax(log_joint, 1)[:, 1]
        got = expect_tensor(answer(x, pi, mu_t, sigma_t), tuple(x.shape),
                            "(N,), p(z = 1 | x) for each x,")
        if torch.allclose(got, 1 - want, atol=1e-6):
            raise Incorrect("you returned p(z = 0 | x); pi is p(z = 1), the weight of the "
                            "second component (mean mu[1]).")
        if not torch.allclose(got, want, atol=1e-6):
            raise Incorrect(f"pi={pi}, mu={mu}, sigma={sigma}: your posterior is off by up to "
                            f"{float((got - want).abs().max()):.3g}; remember that the Gaussian "
                            "density has a 1/sigma factor, which matters when sigmas differ.")
    return "Bayes' rule with a Bernoulli prior: p(z=1|x) = π N(x|μ1,σ1²) / (π N(x|μ1,σ1²) + " \
           "(1-π) N(x|μ0,σ0²)); lecture 03 calls it the responsibility and builds EM on it."
