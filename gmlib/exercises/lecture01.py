"""Checks for the exercises of lecture 01 (Probability for generative modelling)."""

from __future__ import annotations

import functools
import math

import torch

from gmlib.bayesnet import DiscreteBayesNet
from gmlib.dag import check_dag
from gmlib.data import digits
from gmlib.discrete import categorical_mle, markov_chain_parameters, markov_chain_structure
from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise


@exercise("01.1", "Categorical MLE with Dirichlet smoothing")
def _fit_categorical(answer: object) -> str:
    x = torch.tensor([0, 2, 2, 3, 2, 0, 2])
    for k, alpha in [(4, 0.0), (4, 1.0), (5, 0.5), (6, 2.0)]:
        got = expect_tensor(answer(x, k, alpha), (k,), "(k,)")
        want = categorical_mle(x[:, None], k, alpha=alpha)[0].double()
        if torch.allclose(got, want, atol=1e-9):
            continue
        counts = torch.bincount(x, minlength=k).double()
        if torch.allclose(got, (counts + alpha) / (len(x) + alpha), atol=1e-9) and alpha > 0:
            raise Incorrect(f"k={k}, alpha={alpha}: the probabilities do not sum to one. Each "
                            "of the k values gets alpha pseudo-counts, so divide by N + k alpha.")
        if len(got) == k and torch.allclose(got, counts / len(x), atol=1e-9):
            raise Incorrect(f"k={k}, alpha={alpha}: you returned the plain frequencies; add "
                            "alpha to every count.")
        raise Incorrect(f"k={k}, alpha={alpha}: expected {want.numpy().round(4)}; got "
                        f"{got.detach().cpu().numpy().round(4)}")
    return "(N_k + alpha) / (N + k alpha): the posterior mean under a Dirichlet(alpha) prior, " \
           "the plain MLE N_k / N when alpha = 0."


@exercise("01.2", "Parameters of a Markov chain of order m")
def _markov_parameters(answer: object) -> str:
    for n, k, order in [(1, 2, 1), (5, 2, 1), (5, 2, 0), (6, 3, 2), (4, 2, 3), (4, 2, 7),
                        (64, 17, 1), (10, 4, 3)]:
        want = markov_chain_parameters(n, k, min(order, n - 1))
        got = answer(n, k, order)
        if got == want:
            continue
        if got == n * k**order * (k - 1):
            raise Incorrect(f"n={n}, k={k}, order={order}: the first variables have fewer than "
                            f"{order} predecessors, so their tables have fewer rows. Expected "
                            f"{want}; got {got}.")
        raise Incorrect(f"n={n}, k={k}, order={order}: expected {want}; got {got}. Variable i "
                        "(from 1) has min(i - 1, order) parents, hence k^min(i-1, order) rows "
                        "of k - 1 free numbers.")
    return "order 0 is independence (n(k-1)), order 1 gives 2n - 1 for binary variables, and " \
           "order n - 1 is the full chain rule, k^n - 1."


@exercise("01.3", "Bayes' rule")
def _posterior(answer: object) -> str:
    cases = [
        (torch.tensor([0.99, 0.01]), torch.tensor([0.05, 0.9])),  # a rare disease, a good test
        (torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.1, 0.1, 0.8])),
        (torch.tensor([0.25, 0.25, 0.25, 0.25]), torch.tensor([0.0, 0.2, 0.2, 0.6])),
    ]
    for prior, likelihood in cases:
        got = expect_tensor(answer(prior, likelihood), tuple(prior.shape), "(C,)")
        joint = (prior * likelihood).double()
        want = joint / joint.sum()
        if torch.allclose(got, want, atol=1e-9):
            continue
        if torch.allclose(got, joint, atol=1e-9):
            raise Incorrect("you returned prior × likelihood, the joint p(c, evidence); divide "
                            "by its sum, p(evidence), to get the posterior.")
        if torch.allclose(got, likelihood.double(), atol=1e-9):
            raise Incorrect("you returned the likelihood p(e | c) itself: that is not p(c | e). "
                            "Multiply by the prior p(c), then normalise.")
        if torch.allclose(got, likelihood.double() / likelihood.sum(), atol=1e-9):
            raise Incorrect("you normalised the likelihood and ignored the prior p(c) "
                            "(base-rate neglect): multiply by p(c) before normalising.")
        raise Incorrect(f"prior {prior.tolist()}, likelihood {likelihood.tolist()}: expected "
                        f"{want.numpy().round(4)}; got {got.detach().cpu().numpy().round(4)}")
    first = (0.01 * 0.9) / (0.01 * 0.9 + 0.99 * 0.05)
    return f"p(c | e) = p(e | c) p(c) / sum_c' p(e | c') p(c'). A positive result of a test " \
           f"that detects a 1 % disease 90 % of the time, with 5 % false positives, still " \
           f"means only {first:.0%} probability of it."


def _random_joint(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    joint = torch.rand((2,) * n, generator=gen, dtype=torch.float64) + 0.05
    return joint / joint.sum()


@exercise("01.4", "The chain rule from a joint table")
def _chain_rule(answer: object) -> str:
    for n in (1, 2, 4):
        joint = _random_joint(n, seed=n)
        factors = answer(joint.clone())
        if not isinstance(factors, list | tuple) or len(factors) != n:
            raise Incorrect(f"for a joint over n={n} variables return a list of n factors; "
                            f"got {type(factors).__name__} of length "
                            f"{len(factors) if hasattr(factors, '__len__') else '?'}")
        product = torch.ones((2,) * n, dtype=torch.float64)
        for i, factor in enumerate(factors):
            factor = expect_tensor(factor, (2,) * (i + 1), f"(2,) * {i + 1} for factor {i}")
            if not torch.allclose(factor.sum(-1), torch.ones((), dtype=torch.float64)):
                raise Incorrect(f"factor {i} is p(x_{i} | x_0..x_{i - 1}): each row (last "
                                "axis) must sum to one; condition by dividing by the marginal "
                                "of the parents.")
            product = product * factor.reshape(factor.shape + (1,) * (n - i - 1))
        if not torch.allclose(product, joint, atol=1e-12):
            raise Incorrect(f"n={n}: the product of your factors is not the joint; factor i "
                            "must be p(x_0..x_i) / p(x_0..x_{i-1}), both marginals of the joint.")
    return "factor i divides the marginal of x_0..x_i by that of x_0..x_{i-1}; their product " \
           "telescopes back to the joint: the chain rule holds for every distribution."


def _conditional_mi(joint: torch.Tensor, given: int) -> float:
    """I of the two other axes of a 3-axis joint table, given axis `given`, in nats."""
    joint = joint.movedim(given, 1)  # (a, given, b)
    p_given = joint.sum((0, 2), keepdim=True)
    p_a, p_b = joint.sum(2, keepdim=True), joint.sum(0, keepdim=True)
    return float((joint * (joint * p_given / (p_a * p_b)).log()).sum())


@exercise("01.5", "Testing conditional independence")
def _cmi(answer: object) -> str:
    gen = torch.Generator().manual_seed(5)
    # a Markov chain x -> y -> z: I(x; z | y) = 0 although x and z are dependent
    px = torch.tensor([0.3, 0.7], dtype=torch.float64)
    py_x = torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    pz_y = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=torch.float64)
    chain = px[:, None, None] * py_x[:, :, None] * pz_y[None]
    got = float(answer(chain.clone()))
    if abs(got) > 1e-9 and math.isclose(got, _conditional_mi(chain, 2), rel_tol=1e-6):
        raise Incorrect("you computed I(x; y | z), conditioning on the last axis; the "
                        "exercise conditions on the middle axis y: I(x; z | y).")
    if abs(got) > 1e-9:
        raise Incorrect(f"for a Markov chain x -> y -> z the answer must be 0 (x ⊥ z | y); got "
                        f"{got:.4g}")
    for shape in [(2, 2, 2), (3, 2, 4)]:
        joint = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.01
        joint = joint / joint.sum()
        want = _conditional_mi(joint, 1)
        got = float(answer(joint.clone()))
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            continue
        if math.isclose(got, want / math.log(2), rel_tol=1e-6):
            raise Incorrect("that is the value in bits; the course reports nats (natural log).")
        raise Incorrect(f"for a random joint of shape {shape}: expected {want:.6f} nats; got "
                        f"{got:.6f}. Use I = sum p(x,y,z) log[p(x,y,z) p(y) / (p(x,y) p(y,z))].")
    return "I(x; z | y) is zero exactly when x ⊥ z | y; on data it is almost never " \
           "exactly zero, so " \
           "its size tells how wrong a conditional-independence assumption is."


@exercise("01.6", "A network with the left and upper neighbours as parents")
def _neighbour_parents(answer: object) -> str:
    graph = answer(8, 8)
    if not isinstance(graph, dict) or len(graph) != 64:
        raise Incorrect("return a dict with one entry per pixel, 64 for an 8x8 image")
    try:
        graph = check_dag(graph)
    except (TypeError, ValueError) as error:
        raise Incorrect(f"that is not a valid graph: {error}") from None
    # pixels by name, not by the dict's order: any listing order of a right graph passes
    names = [f"p{i}" for i in range(64)]
    if set(graph) != set(names):
        raise Incorrect("name the pixels 'p0', 'p1', ..., 'p63' in raster order (row by row); "
                        f"got names such as {sorted(graph)[:3]}")
    for i, name in enumerate(names):
        r, c = divmod(i, 8)
        want = {names[j] for j, ok in [(i - 1, c > 0), (i - 8, r > 0)] if ok}
        if set(graph[name]) != want:
            raise Incorrect(f"pixel {i} (row {r}, column {c}) should have the parents "
                            f"{sorted(want)}; got {sorted(graph[name])}")
    x = digits("train", binarize=True, flatten=True)
    test = digits("test", binarize=True, flatten=True)
    net = DiscreteBayesNet({name: graph[name] for name in names}, 2, alpha=0.5).fit(x)
    nll = float(-net.log_prob(test).mean())
    chain = DiscreteBayesNet(markov_chain_structure(names, 9), 2, alpha=0.5).fit(x)
    chain_nll = float(-chain.log_prob(test).mean())
    return f"with only {net.n_parameters} parameters this network reaches {nll:.2f} nats per " \
           f"test image: {nll - chain_nll:.2f} nats behind the order-9 Markov chain " \
           f"({chain_nll:.2f}), which needs {chain.n_parameters / net.n_parameters:.0f} times " \
           "as many parameters. Chosen parents buy most of the gain over independence cheaply."


def _markov_nll(train: torch.Tensor, test: torch.Tensor, order: int, alpha: float, *,
                denominator_levels: int = 2, skip_first: bool = False
                ) -> float:
    """Mean test NLL (nats) of a raster-order binary Markov chain fitted by smoothed counting.

    The keyword variants reproduce the usual mistakes: `denominator_levels=1` divides by
    N + alpha and `skip_first` leaves the first `order` pixels out of the likelihood. (Padding
    the first pixels with constant zero parents is no mistake: a constant parent leaves the
    row equal to the pixel's marginal.)
    """
    n, d = train.shape
    total = torch.zeros(len(test), dtype=torch.float64)
    for i in range(d):
        if skip_first and i < order:
            continue
        parents = list(range(max(0, i - order), i))
        weights = 2 ** torch.arange(len(parents))  # a parent configuration -> its row
        train_rows = (train[:, parents].long() * weights).sum(1)
        test_rows = (test[:, parents].long() * weights).sum(1)
        counts = torch.zeros(2 ** len(parents), 2, dtype=torch.float64)
        counts.index_put_((train_rows, train[:, i].long()), torch.ones(n, dtype=torch.float64),
                          accumulate=True)
        probs = (counts + alpha) / (counts.sum(1, keepdim=True) + denominator_levels * alpha)
        total += probs[test_rows, test[:, i].long()].log()
    return float(-total.mean())


@exercise("01.8", "Fit and score a Markov chain by counting")
def _markov_chain_nll(answer: object) -> str:
    # pixels in a shuffled order, so that the first ones are not the always-blank corner
    shuffle = torch.randperm(64, generator=torch.Generator().manual_seed(1))
    train = digits("train", binarize=True, flatten=True)[:400, shuffle]
    test = digits("test", binarize=True, flatten=True)[:200, shuffle]
    names = [f"x{i}" for i in range(64)]
    for order, alpha in [(0, 0.5), (1, 0.5), (3, 1.0), (8, 0.5)]:
        net = DiscreteBayesNet(markov_chain_structure(names, order), 2, alpha=alpha).fit(train)
        want = float(-net.log_prob(test).mean())
        got = answer(train.clone(), test.clone(), order, alpha)
        if not isinstance(got, int | float | torch.Tensor) or (
                isinstance(got, torch.Tensor) and got.numel() != 1):
            raise Incorrect("return one number: the mean test NLL in nats per image; got "
                            f"{type(got).__name__}")
        got = float(got)
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        where = f"order {order}, alpha {alpha}: expected {want:.4f} nats per image; got " \
                f"{got:.4f}."

        same = functools.partial(math.isclose, got, rel_tol=1e-6)

        if same(want / math.log(2)):
            raise Incorrect(f"{where} That is the value in bits; use the natural log (nats).")
        if same(want * len(test)):
            raise Incorrect(f"{where} You summed over the test images; report the mean per "
                            "image.")
        if same(float(-net.log_prob(train).mean())):
            raise Incorrect(f"{where} That is the training NLL; fit on `train`, score `test`.")
        if math.isinf(got) or math.isnan(got) or same(_markov_nll(train, test, order, 0.0)):
            raise Incorrect(f"{where} The pseudo-count is missing: add alpha to every count. "
                            "Without it, a value never seen with a parent configuration that "
                            "was seen gets log 0 = -inf, and a parent configuration never seen "
                            "at all gets 0 / 0 = NaN.")
        if same(_markov_nll(train, test, order, alpha, denominator_levels=1)):
            raise Incorrect(f"{where} The probabilities of a row do not sum to one: each of "
                            "the 2 values gets alpha pseudo-counts, so divide by N_row + 2 alpha.")
        if order and same(_markov_nll(train, test, order, alpha, skip_first=True)):
            raise Incorrect(f"{where} The first {order} pixels are missing from the "
                            "likelihood; they have fewer parents, but they count.")
        for off in (order - 1, order + 1):
            if off >= 0 and same(_markov_nll(train, test, off, alpha)):
                raise Incorrect(f"{where} That is the chain of order {off}: the parents of "
                                f"pixel i are the {order} pixel(s) just before it.")
        raise Incorrect(where)
    return "counting the (parents, value) pairs of every pixel and normalising each row is " \
           "the maximum-likelihood (here: posterior-mean) fit of any discrete Bayesian " \
           "network; your chain matches gmlib.bayesnet.DiscreteBayesNet to 1e-6."
