"""Log-densities of the Gaussian and the multivariate Student-t, from Cholesky factors.

Mixtures, linear-Gaussian models and the Bayesian GMM all need log N(x | mu, Sigma) and
log St(x | mu, Sigma, nu) for many x at once. Working with the Cholesky factor of the
*precision* (as scikit-learn does) makes both a matrix product and a sum of logs: no
inverse, no determinant, and a clear error when a covariance is not positive definite.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["gaussian_log_prob", "mahalanobis", "precision_cholesky", "student_t_log_prob"]

LOG_2PI = math.log(2 * math.pi)


def precision_cholesky(covariance: Tensor, what: str = "covariance", remedy: str = (
        "increase reg_covar or use fewer components")) -> Tensor:
    """An upper-triangular P with P P^T = Sigma^{-1}, batched over leading dimensions.

    If Sigma = L L^T, then P = L^{-T}. Raises ValueError naming `what` if a matrix is not
    positive definite (a component collapsed onto too few points).

    Shapes:
        covariance: (..., D, D) -> returns (..., D, D)
    """
    chol, info = torch.linalg.cholesky_ex(covariance)
    if bool((info > 0).any()):
        raise ValueError(f"a {what} matrix is not positive definite (e.g. a component fitted to "
                         f"fewer distinct points than dimensions); {remedy}")
    eye = torch.eye(covariance.shape[-1], dtype=covariance.dtype, device=covariance.device)
    return torch.linalg.solve_triangular(chol, eye.expand_as(chol), upper=False).mT


def mahalanobis(diff: Tensor, prec_chol: Tensor) -> Tensor:
    """Squared Mahalanobis distances ||diff P||^2 for a batch of factors.

    Shapes:
        diff: (N, K, D), prec_chol: (K, D, D) -> returns (N, K)
    """
    return torch.einsum("nkd,kde->nke", diff, prec_chol).square().sum(-1)


def gaussian_log_prob(maha: Tensor, half_log_det_precision: Tensor, dim: int) -> Tensor:
    """log N from its squared Mahalanobis distance and 1/2 log|Sigma^{-1}|.

    Shapes: broadcast together.
    """
    return -0.5 * (dim * LOG_2PI + maha) + half_log_det_precision


def student_t_log_prob(maha: Tensor, half_log_det_precision: Tensor, df: Tensor | float,
                       dim: int) -> Tensor:
    """log St(x | mu, Sigma, nu) from ||x - mu||^2_{Sigma^{-1}} and 1/2 log|Sigma^{-1}|.

    St = Gamma((nu + D)/2) / (Gamma(nu/2) (nu pi)^{D/2}) |Sigma|^{-1/2}
    (1 + maha / nu)^{-(nu + D)/2}  (Bishop 2006, eq. 2.162). As nu -> inf it tends to the
    Gaussian; small nu gives heavy tails, so far points cost only log-linearly.

    Shapes: broadcast together.
    """
    df = torch.as_tensor(df, dtype=maha.dtype, device=maha.device)
    return (torch.lgamma((df + dim) / 2) - torch.lgamma(df / 2) - 0.5 * dim * torch.log(
        df * math.pi) + half_log_det_precision - 0.5 * (df + dim) * torch.log1p(maha / df))
