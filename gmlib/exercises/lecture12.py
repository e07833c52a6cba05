"""Checks for the exercises of lecture 12 (evaluating generative models)."""

from __future__ import annotations

import math

import torch

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise


@exercise("12.1", "Bits per dimension")
def _bits_per_dim(answer: object) -> str:
    for nll, d in ((80.74, 64), (1.0, 1), (2000.0, 784)):
        want = nll / (d * math.log(2))
        got = answer(nll, d)
        try:
            value = float(got)
        except (TypeError, ValueError) as error:
            raise Incorrect(f"return a number; got {type(got).__name__}") from error
        if math.isclose(value, want, rel_tol=1e-9):
            continue
        if math.isclose(value, nll / d, rel_tol=1e-9):
            raise Incorrect("that is nats per dimension: divide by ln 2 as well")
        if math.isclose(value, nll / math.log(2), rel_tol=1e-9) and d > 1:
            raise Incorrect("that is bits per image: divide by the number of dimensions")
        if math.isclose(value, nll * math.log(2) / d, rel_tol=1e-9):
            raise Incorrect("one bit is ln 2 nats, so bits = nats / ln 2, not nats * ln 2")
        raise Incorrect("bits per dimension = NLL in nats / (D ln 2)")
    return ("bits/dim = nats / (D ln 2): the PixelCNN's 80.74 nats per digit are 1.820 bits "
            "per pixel, the size of its compressed file per pixel.")


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

