"""Each checker of lecture 12 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check
from gmlib.metrics import density_coverage, frechet_distance, precision_recall


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _manifold(real, fake, k, *, rank_shift=1, swap=False, density_scale=1.0,
              coverage_is_recall=False):
    def radii(points):
        return torch.cdist(points, points).kthvalue(k + rank_shift, dim=1).values

    in_real = torch.cdist(fake, real) <= radii(real)
    in_fake = torch.cdist(real, fake) <= radii(fake)
    precision, recall = in_real.any(1).double().mean(), in_fake.any(1).double().mean()
    density = in_real.double().sum() / (k * len(fake)) * density_scale
    coverage = recall if coverage_is_recall else in_real.any(0).double().mean()
    if swap:
        precision, recall = recall, precision
    return precision, recall, density, coverage


def test_manifold_metrics_agree_with_gmlib_and_name_the_usual_mistakes():
    def with_gmlib(real, fake, k):
        return (*precision_recall(real, fake, k=k), *density_coverage(real, fake, k=k))

    assert _verdict("12.1", with_gmlib).passed
    assert _verdict("12.1", _manifold).passed
    for options, hint in [({"rank_shift": 0}, "its own nearest neighbour"),
                          ({"swap": True}, "swapped"),
                          ({"density_scale": 3.0}, "k M, not M"),
                          ({"coverage_is_recall": True}, "that is recall")]:
        verdict = _verdict("12.1", lambda r, f, k, o=options: _manifold(r, f, k, **o))
        assert verdict.status == "incorrect" and hint in verdict.message, (options, verdict)
    verdict = _verdict("12.1", lambda r, f, k: 0.5)
    assert verdict.status == "incorrect" and "return a tuple" in verdict.message


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
