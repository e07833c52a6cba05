"""Each checker of lecture 17 recognises the typical mistakes and says what is wrong."""

import itertools
import math

import torch

from gmlib.diffusion import MaskedDiffusion
from gmlib.exercises import check
from gmlib.exercises.lecture17 import _dpm_reference, _TinyDenoiser


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _bound(log_probs, x, k, *, weight_m=True, hidden_only=True):
    d = x.shape[1]
    total = torch.zeros(len(x), dtype=torch.float64)
    for bits in itertools.product((False, True), repeat=d):
        m = sum(bits)
        if m == 0:
            continue
        hide = torch.tensor(bits).expand_as(x)
        log_p = log_probs(x.masked_fill(hide, k)).gather(-1, x.unsqueeze(-1)).squeeze(-1)
        ce = -(log_p * hide).sum(-1) if hidden_only else -log_p.sum(-1)
        total -= ce / ((m if weight_m else 1) * math.comb(d, m))
    return total


def test_the_reference_bound_is_the_models_exact_bound():
    net = _TinyDenoiser()
    model = MaskedDiffusion(net, (4,), 3).double()
    x = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    def log_probs(tokens):
        return torch.log_softmax(net(tokens), -1)
    assert torch.allclose(_bound(log_probs, x, 3), model.exact_elbo(x))


def test_masked_bound():
    assert _verdict("17.1", _bound).passed
    for answer, hint in [(lambda f, x, k: -_bound(f, x, k), "negative bound"),
                         (lambda f, x, k: _bound(f, x, k, weight_m=False), "1/m"),
                         (lambda f, x, k: _bound(f, x, k, hidden_only=False), "hidden pixels"),
                         (lambda f, x, k: torch.zeros(3), "enumerate")]:
        verdict = _verdict("17.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message, verdict


def test_dpm_solver():
    def answer(order):
        return lambda f, x, a: _dpm_reference(f, x, a, order=order)

    assert _verdict("17.2", answer("final-first")).passed
    for order, hint in [("first", "that is DDIM"), ("always", "last step first order")]:
        verdict = _verdict("17.2", answer(order))
        assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("17.2", lambda f, x, a: x).status == "incorrect"
