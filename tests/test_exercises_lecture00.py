"""Each checker of lecture 00 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check
from gmlib.exercises.lecture00 import _categorical_variant

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda n, d: n / d, "nats per dimension"),
    (lambda n, d: n / math.log(2), "bits per image"),
    (lambda n, d: n * d, "expected"),
])
def test_bits_per_dim_mistakes(answer, hint):
    verdict = _verdict("00.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda n, k: 3, "return a pair"),
    (lambda n, k: (k**n, n * (k - 1)), "one of them is not free"),
    (lambda n, k: (k**n - 2, n * (k - 1)), "k^n - 1"),
    (lambda n, k: (k**n - 1, n * k), "k - 1 free numbers each"),
    (lambda n, k: (k**n - 1, n), "n (k - 1)"),
])
def test_parameter_count_mistakes(answer, hint):
    verdict = _verdict("00.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, a: [0.5] * 6, "return a tensor of shape (D,)"),
    (lambda x, a: x.mean(0), "plain frequencies"),
    (lambda x, a: (x.sum(0) + a) / (x.shape[0] + a), "expected"),
])
def test_fit_bernoulli_mistakes(answer, hint):
    verdict = _verdict("00.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _sampler(kind):
    def sample(probs, n, generator):
        u = torch.rand(n, probs.shape[0], 1, generator=generator)
        if kind == "probabilities":  # compares u with the probabilities, not their sums
            return (u >= probs).sum(-1).clamp(max=probs.shape[1] - 1)
        if kind == "shape":
            return torch.zeros(n)
        if kind == "out of range":
            return torch.full((n, probs.shape[0]), 7.0)
        if kind == "uniform":
            return torch.randint(probs.shape[1], (n, probs.shape[0]), generator=generator)
        raise AssertionError(kind)
    return sample


@pytest.mark.parametrize(("kind", "hint"), [
    ("shape", "shape (n, D)"),
    ("out of range", "integer levels 0..K-1"),
    ("probabilities", "compare u with the cumulative sum"),
    ("uniform", "other levels"),
])
def test_sampler_mistakes(kind, hint):
    verdict = _verdict("00.4", _sampler(kind))
    assert verdict.status == "incorrect" and hint in verdict.message


def test_sampler_that_ignores_some_probabilities():
    def biased(probs, n, generator):
        out = torch.full((n, 3), 2.0)
        out[: n // 2, 2] = 0.0  # pixel 2 is uniform over 4 levels: half at 0 is wrong
        return out

    verdict = _verdict("00.4", biased)
    assert verdict.status == "incorrect" and "pixel 0" in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda s, f: float(torch.quantile(s, 1 - f)), "LOW log-likelihood"),
    (lambda s, f: float(s.mean()), "should flag"),
])
def test_threshold_mistakes(answer, hint):
    verdict = _verdict("00.5", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_taxonomy_mistakes():
    full = {"GaussianMixture": "exact", "PixelCNN": "exact", "RealNVP": "exact", "VAE": "bound",
            "DDPM": "bound", "EBM": "unnormalised", "GAN": "none"}
    assert _verdict("00.6", full).passed
    assert _verdict("00.6", lambda: full).passed
    assert "answer with a dict" in _verdict("00.6", ["exact"]).message
    missing = _verdict("00.6", {k: v for k, v in full.items() if k != "GAN"})
    assert "classify these models too: GAN" in missing.message
    wrong = _verdict("00.6", {**full, "VAE": "exact"})
    assert "look again at VAE" in wrong.message and "lower bound" in wrong.message


def _categorical_solution(train, test, n_levels, alpha):
    counts = torch.stack([(train == k).sum(0) for k in range(n_levels)], 1).double()
    probs = (counts + alpha) / (len(train) + n_levels * alpha)
    return probs, float(-probs.log().gather(1, test.long().T).T.sum(1).mean())


def _categorical_mistake(flag):
    return lambda *args: _categorical_variant(*args, **{flag: True})


def _in_float32(answer):
    """The same answer computed in float32, as a learner using torch's default dtype gets."""
    def run(*args):
        probs, _ = answer(*args)
        probs = probs.float()
        test = args[1]
        return probs, float(-probs.log().gather(1, test.long().T).T.sum(1).mean())
    return run


@pytest.mark.parametrize(("answer", "hint"), [
    (_categorical_solution, None),
    (_in_float32(_categorical_solution), None),
    (_in_float32(_categorical_mistake("binary_denominator")), "not N + 2"),
    (_categorical_mistake("numerator_only"), "N + K alpha"),
    (_categorical_mistake("binary_denominator"), "not N + 2"),
    (_categorical_mistake("bits"), "not bits"),
    (_categorical_mistake("per_pixel"), "per *image*"),
    (lambda tr, te, k, a: _categorical_solution(tr, te, k, 0.0), "infinite"),
    (lambda *args: _categorical_solution(*args)[0], "tuple"),
])
def test_independent_model_exercise_diagnoses(answer, hint):
    assert_verdict("00.8", answer, hint)
