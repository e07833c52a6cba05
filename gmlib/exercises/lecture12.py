"""Checks for the exercises of lecture 12 (evaluating generative models)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise


def _reference_manifold_metrics(real: Tensor, fake: Tensor, k: int, *,
                                self_as_neighbour: bool = False) -> tuple[float, ...]:
    """Improved precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et
    al. 2020); `self_as_neighbour` reproduces the off-by-one that counts a point as its own
    nearest neighbour."""
    rank = k if self_as_neighbour else k + 1  # kthvalue counts the zero self-distance

    def radii(points: Tensor) -> Tensor:
        return torch.cdist(points, points).kthvalue(rank, dim=1).values

    real_radii, fake_radii = radii(real), radii(fake)
    fake_in_real = torch.cdist(fake, real) <= real_radii  # (M, N)
    real_in_fake = torch.cdist(real, fake) <= fake_radii  # (N, M)
    precision = fake_in_real.any(1).double().mean()
    recall = real_in_fake.any(1).double().mean()
    density = fake_in_real.double().sum() / (k * len(fake))
    coverage = fake_in_real.any(0).double().mean()
    return float(precision), float(recall), float(density), float(coverage)


_NAMES = ("precision", "recall", "density", "coverage")


def _manifold_case() -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(120, 3, generator=gen, dtype=torch.float64)
    core = 0.7 * torch.randn(80, 3, generator=gen, dtype=torch.float64) + 0.5
    directions = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    strays = 3 * directions / directions.norm(dim=1, keepdim=True)
    return real, torch.cat([core, strays])  # a crowded, shifted model and 5 strays


@exercise("12.1", "Precision, recall, density and coverage")
def _manifold_metrics(answer: object) -> str:
    real, fake = _manifold_case()
    k = 3
    got = expect_tuple(answer(real.clone(), fake.clone(), k), _NAMES)
    try:
        values = tuple(float(v) for v in got)
    except (TypeError, ValueError) as error:
        raise Incorrect("return four numbers (floats or 0-d tensors)") from error
    want = _reference_manifold_metrics(real, fake, k)
    if all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(values, want, strict=True)):
        outliers = _reference_manifold_metrics(real, fake[:80], k)  # without the strays
        return (f"precision {want[0]:.3f}, recall {want[1]:.3f}, density {want[2]:.3f}, "
                f"coverage {want[3]:.3f}. Drop the 5 stray samples and recall falls to "
                f"{outliers[1]:.3f}, while coverage moves only to {outliers[3]:.3f}: the "
                "strays' own large balls bought recall; coverage uses the real balls only.")
    off_by_one = _reference_manifold_metrics(real, fake, k, self_as_neighbour=True)
    if all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(values, off_by_one, strict=True)):
        raise Incorrect("each point is its own nearest neighbour at distance 0: the radius "
                        "is the distance to the (k+1)-th smallest entry of its row")
    if math.isclose(values[0], want[1], abs_tol=1e-9) and math.isclose(
            values[1], want[0], abs_tol=1e-9):
        raise Incorrect("precision and recall are swapped: precision asks whether each "
                        "generated point lies in a real ball")
    for name, value, right in zip(_NAMES, values, want, strict=True):
        if math.isclose(value, right, abs_tol=1e-9):
            continue
        if name == "density" and math.isclose(value, right * k, abs_tol=1e-9):
            raise Incorrect("divide the count of (sample, real ball) pairs by k M, not M: "
                            "a sample at a real point sits in about k real balls")
        if name == "coverage" and math.isclose(value, want[1], abs_tol=1e-9):
            raise Incorrect("that is recall: coverage asks whether each *real* ball holds a "
                            "generated point, using only the real points' radii")
        if name == "density" and math.isclose(value, want[0], abs_tol=1e-9):
            raise Incorrect("that is precision: density counts how many real balls hold each "
                            "sample, not whether one does")
        raise Incorrect(f"{name} is {value:.4f}, expected {right:.4f}; "
                        + _HINTS[name])
    raise Incorrect("return (precision, recall, density, coverage) in that order")


_HINTS = {
    "precision": "the share of generated points within the k-NN radius of some real point",
    "recall": "the share of real points within the k-NN radius of some generated point "
              "(radii of the generated set)",
    "density": "sum over generated points of the number of real balls holding them, / (k M)",
    "coverage": "the share of real points whose own k-NN ball holds a generated point",
}


@exercise("12.2", "The Frechet distance of two Gaussians")
def _frechet(answer: object) -> str:
    gen = torch.Generator().manual_seed(0)
    d = 5
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    b = torch.randn(d, d, generator=gen, dtype=torch.float64)
    cov1, cov2 = a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64), b @ b.T / d
    mu1 = torch.randn(d, generator=gen, dtype=torch.float64)
    mu2 = torch.randn(d, generator=gen, dtype=torch.float64)
    want = _gaussian_frechet(mu1, cov1, mu2, cov2)
    got = answer(mu1, cov1, mu2, cov2)
    value = float(expect_tensor(torch.as_tensor(got), (), "a number"))
    if math.isclose(value, want, rel_tol=1e-6, abs_tol=1e-9):
        same = float(answer(mu1, cov1, mu1, cov1))
        if abs(same) > 1e-6:
            raise Incorrect(f"the distance of a Gaussian to itself must be 0; got {same:.3g}")
        return ("|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)): the 2-Wasserstein distance "
                "between the Gaussians, which is what FID and the FDD compute on features.")
    mean_part = float((mu1 - mu2).pow(2).sum())
    if math.isclose(value, mean_part, rel_tol=1e-6):
        raise Incorrect("the means are only half of it: add the covariance term")
    no_cross = mean_part + float(torch.trace(cov1 + cov2))
    if math.isclose(value, no_cross, rel_tol=1e-6):
        raise Incorrect("subtract the cross term 2 tr((S1 S2)^(1/2)), or two equal "
                        "Gaussians would be at a positive distance")
    raise Incorrect("|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))")


def _sqrtm(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def _gaussian_frechet(mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor,
                      cov2: torch.Tensor) -> float:
    root = _sqrtm(cov1)
    middle = torch.linalg.eigvalsh(root @ cov2 @ root).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + torch.trace(cov1 + cov2) - 2 * middle)


@exercise("12.3", "The importance-weighted bound from log-weights")
def _iwae(answer: object) -> str:
    gen = torch.Generator().manual_seed(0)
    log_w = torch.randn(50, 7, generator=gen, dtype=torch.float64) * 3 - 800.0
    got = expect_tensor(answer(log_w), (7,), "(B,)")
    want = torch.logsumexp(log_w, 0) - math.log(50)
    if torch.allclose(got, want, atol=1e-9):
        return ("log (1/k) sum_i w_i = logsumexp(log w) - log k: no weight is ever "
                "exponentiated on its own, so nothing underflows.")
    if torch.allclose(got, log_w.mean(0), atol=1e-9):
        raise Incorrect("the mean of the log-weights is the ELBO (k = 1 averaged); the bound "
                        "takes the log of the mean weight")
    if torch.allclose(got, torch.logsumexp(log_w, 0), atol=1e-9):
        raise Incorrect("that is log of the sum: subtract log k for the mean")
    if not torch.isfinite(got).all():
        raise Incorrect("exp(-800) underflows to 0 even in float64: use torch.logsumexp")
    raise Incorrect("log (1/k) sum_i exp(log_w_i), computed with logsumexp over dim 0")

