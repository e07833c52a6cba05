"""Each checker of lecture 12 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check
from gmlib.metrics import frechet_distance


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def test_bits_per_dim():
    assert _verdict("12.1", lambda nll, d: nll / (d * math.log(2))).passed
    for answer, hint in [(lambda nll, d: nll / d, "ln 2 as well"),
                         (lambda nll, d: nll / math.log(2), "bits per image"),
                         (lambda nll, d: nll * math.log(2) / d, "not nats * ln 2"),
                         (lambda nll, d: None, "return a number")]:
        verdict = _verdict("12.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _sqrtm(m):
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def _frechet(mu1, cov1, mu2, cov2):
    root = _sqrtm(cov1)
    middle = torch.linalg.eigvalsh(root @ cov2 @ root).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + torch.trace(cov1 + cov2) - 2 * middle)


def test_frechet():
    assert _verdict("12.2", _frechet).passed
    for answer, hint in [(lambda m1, c1, m2, c2: float((m1 - m2).pow(2).sum()), "half of it"),
                         (lambda m1, c1, m2, c2: float((m1 - m2).pow(2).sum()
                                                      + torch.trace(c1 + c2)), "cross term"),
                         (lambda m1, c1, m2, c2: 1.0, "tr((S1 S2)^(1/2))")]:
        verdict = _verdict("12.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_frechet_reference_agrees_with_gmlib_on_samples():
    """The checker's closed form is the formula gmlib's FDD applies to fitted Gaussians."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=gen, dtype=torch.float64) * torch.tensor([1.0, 2, 0.5])
    b = torch.randn(4000, 3, generator=gen, dtype=torch.float64) @ torch.randn(
        3, 3, generator=gen, dtype=torch.float64) + 1.0
    want = _frechet(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))
    assert frechet_distance(a, b) == pytest.approx(want, rel=1e-6)


def test_iwae_from_log_weights():
    assert _verdict("12.3", lambda lw: torch.logsumexp(lw, 0) - math.log(lw.shape[0])).passed
    for answer, hint in [(lambda lw: lw.mean(0), "ELBO"),
                         (lambda lw: torch.logsumexp(lw, 0), "subtract log k"),
                         (lambda lw: lw.exp().mean(0).log(), "logsumexp"),
                         (lambda lw: lw, "shape")]:
        verdict = _verdict("12.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message
