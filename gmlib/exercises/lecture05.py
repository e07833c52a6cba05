"""Checks for the exercises of lecture 05 (FVSBN, NADE, MADE)."""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from gmlib.autoregressive import FVSBN, NADE
from gmlib.autoregressive.base import bernoulli_log_prob
from gmlib.autoregressive.nade import nade_preactivations
from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise


def _binary(seed: int, n: int, d: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(2, (n, d), generator=gen).double()


def _weights(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64)


@exercise("05.1", "The log-likelihood of an FVSBN")
def _fvsbn(answer: object) -> str:
    for seed, d in ((0, 5), (1, 8)):
        x, w, b = _binary(seed, 20, d), _weights(seed + 10, d, d), _weights(seed + 20, d)
        model = FVSBN(d).double()
        with torch.no_grad():
            model.linear.weight.copy_(w)
            model.linear.bias.copy_(b)
            want = model.log_prob(x)
        got = expect_tensor(answer(x, w, b), (len(x),), "(N,)")
        if torch.allclose(got, bernoulli_log_prob(x, x @ w.T + b)):
            raise Incorrect("x_i may only depend on x_j for j < i: keep the strictly lower "
                            "triangle of W (torch.tril(W, diagonal=-1))")
        if torch.allclose(got, bernoulli_log_prob(x, x @ torch.tril(w, diagonal=-1) + b)):
            raise Incorrect("row i of W holds the weights of x_i's conditional, so the logits "
                            "are x @ tril(W, -1).T + b; without the transpose x_i sees the "
                            "variables after it")
        if torch.allclose(got, bernoulli_log_prob(x, x @ torch.tril(w).T + b)):
            raise Incorrect("the diagonal of W lets x_i predict itself: use diagonal=-1")
        if torch.allclose(got, -want):
            raise Incorrect("that is the negative log-likelihood; return log p(x)")
        if not torch.allclose(got, want, atol=1e-8):
            raise Incorrect("log p(x) = sum_i [x_i l_i - log(1 + exp(l_i))] with "
                            "l = b + tril(W, -1) x; check the sum over i")
    return "an FVSBN is D logistic regressions, each on the variables before it."


class _CountTorchCalls(TorchFunctionMode):
    """Counts the torch functions an answer calls (a loop over d calls at least D)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func: object, types: object, args: tuple = (),
                           kwargs: dict | None = None) -> object:
        self.calls += 1
        return func(*args, **(kwargs or {}))


@exercise("05.2", "NADE's hidden layer in O(DH)")
def _nade_hidden(answer: object) -> str:
    for seed, (d, h) in ((2, (6, 4)), (3, (9, 3))):
        x, w, c = _binary(seed, 7, d), _weights(seed, h, d), _weights(seed + 1, h)
        want = nade_preactivations(x, w, c)
        got = expect_tensor(answer(x, w, c), (len(x), d, h), "(N, D, H)")
        if torch.allclose(got, want + x.unsqueeze(-1) * w.T):
            raise Incorrect("a_d must not include x_d itself: subtract it from the "
                            "cumulative sum (an exclusive cumsum)")
        if torch.allclose(got, torch.sigmoid(want)):
            raise Incorrect("return the pre-activations a_d, before the sigmoid")
        if not torch.allclose(got, want, atol=1e-10):
            raise Incorrect("a_d = c + sum_{j<d} W[:, j] x_j; check the bias c and the order "
                            "of the cumulative sum")
    d = 64
    x, w, c = _binary(4, 5, d), _weights(4, 3, d), _weights(5, 3)
    with _CountTorchCalls() as counter:
        answer(x, w, c)
    if counter.calls >= d:
        raise Incorrect(f"right values, but your function made {counter.calls} torch calls "
                        f"for D = {d}: a Python loop over d. Build all the sums at once with "
                        "one cumulative sum (torch.cumsum) over the contributions W[:, j] x_j")
    return "one cumulative sum gives all D hidden layers: that weight sharing is NADE."


@exercise("05.3", "MADE's masks from degrees")
def _made_masks(answer: object) -> str:
    for d_in, d_hidden in ((torch.tensor([2, 1, 3]), torch.tensor([1, 2, 1, 2])),
                           (torch.tensor([3, 1, 4, 2]), torch.tensor([1, 3, 2, 2, 1]))):
        got = expect_tuple(answer(d_in, d_hidden), ("hidden_mask", "output_mask"))
        hidden = expect_tensor(got[0], (len(d_hidden), len(d_in)), "(H, D)")
        output = expect_tensor(got[1], (len(d_in), len(d_hidden)), "(D, H)")
        want_hidden = (d_hidden[:, None] >= d_in[None, :]).double()
        want_output = (d_in[:, None] > d_hidden[None, :]).double()
        if torch.equal(hidden, (d_hidden[:, None] > d_in[None, :]).double()):
            raise Incorrect("a hidden unit of degree m may see inputs of degree <= m "
                            "(>=, not >): with > the inputs of the top degree are cut off")
        if torch.equal(output, (d_in[:, None] >= d_hidden[None, :]).double()):
            raise Incorrect("with >= in the output mask, output d is connected to hidden "
                            "units of its own degree, which see x_d: use a strict >")
        if torch.equal(hidden, want_hidden.T) or torch.equal(output, want_output.T):
            raise Incorrect("masks have the shape of the weights: (out_features, in_features)")
        if not (torch.equal(hidden, want_hidden) and torch.equal(output, want_output)):
            raise Incorrect("hidden_mask[k, j] = m_k >= deg(x_j); output_mask[d, k] = "
                            "deg(x_d) > m_k")
    return "the masks cut every path from x_j to output d unless j comes before d."


@exercise("05.4", "Counting parameters")
def _counts(answer: object) -> str:
    for d in (1, 3, 10, 64):
        got = expect_tuple(answer(d), ("full_table", "fvsbn", "nade"))
        full, fvsbn, nade = (int(v) for v in got)
        if full == 2**d:
            raise Incorrect("the 2^D probabilities of a full table sum to one: one fewer is "
                            "free")
        if full != 2**d - 1:
            raise Incorrect(f"a full table over {d} binary variables has 2^D - 1 = "
                            f"{2**d - 1} free parameters (1 + 2 + ... + 2^(D-1))")
        if fvsbn == d * d and d > 1:
            raise Incorrect("the FVSBN's weight matrix is strictly lower triangular: "
                            "D(D-1)/2 weights plus D biases")
        if fvsbn != d * (d + 1) // 2:
            raise Incorrect("FVSBN: D biases plus D(D-1)/2 weights, D(D+1)/2 in all")
        hidden = 100
        if nade != 2 * d * hidden + d + hidden:
            raise Incorrect("NADE with H = 100 hidden units: W (H x D), c (H), V (D x H) and "
                            "b (D), that is 2DH + D + H")
    return "a full table doubles with every pixel; FVSBN grows as D^2 and NADE as DH."


def _nade_sample_reference(w: torch.Tensor, c: torch.Tensor, v: torch.Tensor, b: torch.Tensor,
                           order: torch.Tensor, uniforms: torch.Tensor, *,
                           raster: bool = False, uniform_by_variable: bool = False,
                           never_update: bool = False, inverted: bool = False,
                           no_sigmoid: bool = False) -> torch.Tensor:
    """NADE's O(DH) ancestral sampler, right or with one of the usual mistakes switched on."""
    d, n = uniforms.shape
    x = torch.zeros(n, d, dtype=torch.float64)
    a = c.expand(n, -1).clone()
    for r in range(d):
        i = r if raster else int(order[r])
        h = a if no_sigmoid else torch.sigmoid(a)
        p = torch.sigmoid(b[i] + h @ v[i])  # (n,)
        u = uniforms[i] if uniform_by_variable else uniforms[r]
        x[:, i] = ((u >= p) if inverted else (u < p)).double()
        if not never_update:
            a = a + x[:, i:i + 1] * w[:, i]
    return x


@exercise("05.7", "Sampling NADE in O(DH), whole")
def _nade_sample(answer: object) -> str:
    mistakes = {
        "raster": "follow the ordering: step r draws variable order[r], not variable r",
        "uniform_by_variable": "step r uses uniforms[r], whatever variable it draws (the "
                               "library's samplers do the same, so samples can be compared)",
        "never_update": "after drawing x_i, add W[:, i] x_i to the running pre-activation; "
                        "without it every pixel is drawn from the same hidden layer, "
                        "independently of the others",
        "inverted": "draw x_i = 1 when u < p(x_i = 1 | x_<i): an inverse-CDF draw puts the "
                    "first p of the unit interval on 1",
        "no_sigmoid": "the hidden layer is h = sigmoid(a), and p = sigmoid(b_i + V_i . h)",
    }
    for seed, (d, h, n) in ((0, (6, 4, 50)), (1, (12, 7, 200))):
        model = NADE(d, hidden=h, order="random").double()
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(1.5 * torch.randn(parameter.shape, generator=gen,
                                                  dtype=torch.float64))
        uniforms = torch.rand(d, n, generator=gen, dtype=torch.float64)
        args = (model.W.detach(), model.c.detach(), model.V.detach(), model.b.detach(),
                model.order.clone())
        with torch.no_grad():
            want = model._sample_naive(uniforms)  # D full passes of the library's NADE
        got = expect_tensor(answer(*args, uniforms.clone()), (n, d), "(n, D)")
        if torch.equal(got, want):
            continue
        for flag, message in mistakes.items():
            if torch.equal(got, _nade_sample_reference(*args, uniforms, **{flag: True})):
                raise Incorrect(message)
        wrong = int((got != want).any(0).sum())
        raise Incorrect(f"{wrong} of {d} variables differ from NADE's draws with the same "
                        "uniforms; keep a = c + sum of W[:, j] x_j over the variables drawn "
                        "so far, h = sigmoid(a), p = sigmoid(b_i + V_i . h), x_i = [u_r < p]")
    # the cost: a running sum needs about 2 n D H multiply-adds; recomputing the
    # pre-activation from every drawn value at each step needs D times more
    d, h, n = 64, 16, 8
    model = NADE(d, hidden=h).double()
    args = (model.W.detach(), model.c.detach(), model.V.detach(), model.b.detach(),
            model.order.clone())
    uniforms = torch.rand(d, n, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    with FlopCounterMode(display=False) as counter:
        answer(*args, uniforms)
    if counter.get_total_flops() > 8 * n * d * h:
        raise Incorrect(f"right draws, but {counter.get_total_flops():,} floating-point "
                        f"operations for D = {d}, H = {h}, n = {n}: about D times the "
                        "2 n D H of a running sum, so each step recomputes the "
                        "pre-activation from all the values drawn so far, O(D^2 H). Keep a "
                        "and add W[:, i] x_i after each draw")
    return "the running pre-activation makes every step O(H): a whole sample costs O(DH), " \
           "the same as scoring, and it equals the D-pass sampler draw for draw " \
           "(NADE.sample(n, method='cached') does exactly this)."
