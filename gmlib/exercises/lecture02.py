"""Checks for the exercises of lecture 02 (Bayesian networks; generative vs discriminative)."""

from __future__ import annotations

import math
import string
import sys
import time
from collections.abc import Callable

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


class _Tables:
    """What a variable-elimination answer may use: the graph and the tables, nothing else.

    `query` and `log_prob` are missing on purpose, so an answer cannot delegate to them.
    """

    def __init__(self, net: DiscreteBayesNet) -> None:
        self.variables = list(net.variables)
        self.parents = {v: list(net.parents[v]) for v in net.variables}
        self.cardinality = dict(net.cardinality)
        self._net = net

    def cpt(self, variable: str) -> torch.Tensor:
        """p(variable | parents), shape (*parent cardinalities, k_variable)."""
        return self._net.cpt(variable).clone()


def _eliminate(net: DiscreteBayesNet, target: str, evidence: dict[str, int], *,
               slice_own: bool = True, slice_children: bool = True,
               normalise: bool = True) -> torch.Tensor:
    """Variable elimination by one einsum; the flags reproduce the usual mistakes.

    `slice_own=False` drops p(e | parents) for each observed e (an intervention, do(e), not an
    observation); `slice_children=False` sums e out of its children's tables as if unseen.
    """
    letter = {v: string.ascii_letters[i] for i, v in enumerate(net.variables)}
    operands, subscripts = [], []
    for v in net.variables:
        table, axes = net.cpt(v), [*net.parents[v], v]
        for u, value in evidence.items():
            if u not in axes:
                continue
            own = u == v
            if (own and slice_own) or (not own and slice_children):
                table = table.select(axes.index(u), value)
                axes.remove(u)
            elif own:  # drop the factor's dependence on u: it no longer weighs the evidence
                table = torch.ones_like(table.select(axes.index(u), value))
                axes.remove(u)
        operands.append(table)
        subscripts.append("".join(letter[u] for u in axes))
    spec = ",".join(subscripts) + "->" + letter[target]
    result = torch.einsum(spec, *operands)
    return result / result.sum() if normalise else result


# how long an answer may take on the 45-variable chain (variable elimination needs
# milliseconds; the tests shorten it)
_DEADLINE_SECONDS = 30.0


class _TooSlow(Exception):
    """Raised inside an answer that runs past its time limit."""


def _run_with_deadline(function: Callable[[], object], seconds: float) -> object:
    """Call `function`, stopping it with `_TooSlow` once it has run for `seconds`.

    A trace function sees every line the answer's Python code executes, so a loop over the
    joint states (enumeration) is stopped instead of running for days; a tensor too large to
    allocate fails at once with a RuntimeError, which the caller reports.
    """
    deadline = time.perf_counter() + seconds
    previous = sys.gettrace()

    def trace(frame: object, event: str, arg: object) -> object:
        if time.perf_counter() > deadline:
            raise _TooSlow
        return trace

    sys.settrace(trace)
    try:
        return function()
    finally:
        sys.settrace(previous)


def _long_chain(n: int) -> DiscreteBayesNet:
    """A binary chain x0 -> x1 -> ... of n variables, each table the same sticky switch."""
    net = DiscreteBayesNet({f"x{i}": [f"x{i - 1}"] if i else [] for i in range(n)}, 2)
    for i in range(1, n):
        net.set_cpt(f"x{i}", torch.tensor([[0.9, 0.1], [0.2, 0.8]]))
    return net


@exercise("02.3", "Variable elimination")
def _variable_elimination(answer: object) -> str:
    cases = [(student_network(), "I", {"L": 1}), (student_network(), "D", {"G": 2, "I": 1}),
             (student_network(), "L", {}), (student_network(), "G", {"S": 1})]
    for seed in range(3):
        net = DiscreteBayesNet.random(7, max_parents=3, max_cardinality=3, seed=seed)
        cases.append((net, "x2", {"x6": 0, "x4": 1}))
    cases.append((_long_chain(12), "x5", {"x11": 1, "x0": 0}))
    # 2^45 joint states: only an answer that never builds the joint finishes
    cases.append((_long_chain(45), "x20", {"x44": 1, "x0": 0}))
    for net, target, evidence in cases:
        want = net.query(target, evidence)
        where = f"p({target} | {evidence or 'nothing'})"
        try:
            got = _run_with_deadline(lambda net=net, target=target, evidence=evidence: answer(
                _Tables(net), target, dict(evidence)), seconds=_DEADLINE_SECONDS)
        except (_TooSlow, MemoryError, RuntimeError) as error:
            # only a deadline or a failed allocation points to the joint table; any other
            # error (an einsum with more than 52 axis letters, say) is reported as it is
            allocation = isinstance(error, MemoryError) or any(
                word in str(error).lower() for word in ("memory", "allocat"))
            if len(net.variables) < 45 or not (isinstance(error, _TooSlow) or allocation):
                raise
            if isinstance(error, _TooSlow):
                kind = f"ran for {_DEADLINE_SECONDS:.0f} s without finishing"
            else:
                kind = f"failed ({type(error).__name__}: {str(error)[:80]})"
            raise Incorrect(f"{where} on a chain of 45 binary variables: your function {kind}. "
                            "It has 2^45 joint states, so an answer that builds the joint "
                            "table or loops over its states (enumeration) cannot finish. "
                            "Sum out one variable at a time, multiplying only the factors "
                            "that mention it: on a chain no factor ever holds more than two "
                            "variables.") from None
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Incorrect(f"{where}: return a tensor of shape ({net.cardinality[target]},), "
                            f"one probability per value of {target!r}; got {found}. Sum out "
                            "every variable except the target.")
        got = got.detach().double()
        if torch.allclose(got, want, atol=1e-9):
            continue

        def same(other: torch.Tensor, got: torch.Tensor = got) -> bool:
            return torch.allclose(got, other.double(), atol=1e-9)

        if evidence and same(_eliminate(net, target, evidence, normalise=False)):
            raise Incorrect(f"{where}: your numbers are p({target}, evidence); divide by their "
                            "sum, p(evidence), to condition.")
        if abs(float(got.sum()) - 1) > 1e-6:
            raise Incorrect(f"{where} must sum to one; yours sums to {float(got.sum()):.4f}.")
        prior = net.query(target)
        intervened = _eliminate(net, target, evidence, slice_own=False)
        if evidence and same(intervened) and not torch.allclose(intervened, prior):
            raise Incorrect(f"{where}: you fixed the observed variables in their children's "
                            "tables but dropped their own factor p(e | parents). That computes "
                            "an intervention (setting e), not an observation: keep p(e | "
                            "parents) sliced at e.")
        if evidence and same(prior):
            raise Incorrect(f"{where}: that is the prior p({target}); the evidence had no "
                            "effect. Slice every table that mentions an observed variable at "
                            "its observed value before summing, its own table p(e | parents) "
                            "included.")
        if evidence and same(_eliminate(net, target, evidence, slice_children=False)):
            raise Incorrect(f"{where}: the observed value is used only in the variable's own "
                            "table; its children's tables must be sliced at it too, or the "
                            "sum treats it as unobserved there.")
        raise Incorrect(f"{where}: expected {want.numpy().round(4)}; got "
                        f"{got.cpu().numpy().round(4)}")
    return "slice the tables at the evidence, then sum out one variable at a time, " \
           "multiplying only the factors that mention it: on a chain every intermediate " \
           "factor has at most 4 entries, however long the chain (the 45-variable chain's " \
           "joint has 2^45 states). The cost is linear in the entries of the largest " \
           "factor created and so exponential in the number of variables it holds, which " \
           "the graph and the elimination order decide."


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
