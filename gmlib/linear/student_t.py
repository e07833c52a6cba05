"""Robust probabilistic PCA: Student-t noise, fitted by EM as a scale mixture of Gaussians.

A Gaussian's log-density falls quadratically, so a single far outlier can pull the mean and
turn the principal directions towards itself. Replace the Gaussian by a Student-t,

    x ~ St(mu, C, nu),  C = W W^T + sigma^2 I,

whose log-density falls only logarithmically. The t is a Gaussian scale mixture:
u ~ Gamma(nu/2, nu/2), x | u ~ N(mu, C / u). Treating u as latent, the E step gives each
point a weight E[u | x] = (nu + D) / (nu + delta), delta = (x - mu)^T C^{-1} (x - mu): far
points get small weights. The M step is a weighted mean and the PPCA solution of the
weighted covariance; nu is updated by a one-dimensional root search (Liu & Rubin 1995).

References:
    Archambeau, Delannay & Verleysen, Robust probabilistic projections (ICML 2006).
    Zhao & Jiang, Probabilistic PCA for t distributions (Neurocomputing 2006).
    Liu & Rubin, ML estimation of the t distribution using EM and its extensions (1995).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.densities import precision_cholesky, student_t_log_prob
from gmlib.draws import gamma_draw
from gmlib.estimator import check_tol
from gmlib.linear._gaussian import LinearGaussianModel, ppca_from_covariance

__all__ = ["StudentTPPCA"]

_DF_RANGE = (1e-2, 1e4)


def _solve_df(mean_log_u_minus_u: float) -> float:
    """The root in nu of -psi(nu/2) + log(nu/2) + 1 + mean(E[log u] - E[u]) = 0 (bisection
    on log nu; the left side decreases in nu)."""
    lo, hi = math.log(_DF_RANGE[0]), math.log(_DF_RANGE[1])

    def f(log_nu: float) -> float:
        half = torch.tensor(math.exp(log_nu) / 2, dtype=torch.float64)
        return float(-torch.digamma(half) + half.log()) + 1 + mean_log_u_minus_u

    if f(hi) > 0:
        return _DF_RANGE[1]  # the data are as light-tailed as a Gaussian
    if f(lo) < 0:
        return _DF_RANGE[0]
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return math.exp((lo + hi) / 2)


class StudentTPPCA(LinearGaussianModel):
    """PPCA with multivariate Student-t noise, robust to outliers, fitted by EM.

    Args:
        n_components: q.
        df: the degrees of freedom nu, fixed; None learns it (started at 10).
        max_iter, tol: of EM; tol on the change of the mean log-likelihood.
        dtype: of the fitted tensors.

    Fitted attributes: `mean_`, `components_` (q, D) = W^T, `noise_variance_` (sigma^2),
    `df_`, `weights_` (N,) the E[u | x] of the training points at the end,
    `lower_bounds_` (mean log-likelihood before each M step), `converged_`, `n_iter_`.

    Shapes:
        x: (N, D); log_prob -> (N,) (the multivariate t density); sample(n) -> (n, D)
    """

    noise_variance_: Tensor
    df_: Tensor

    def __init__(self, n_components: int, *, df: float | None = None, max_iter: int = 1000,
                 tol: float = 1e-6, dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, dtype)
        if df is not None and not (isinstance(df, int | float) and df > 0):
            raise ValueError(f"df must be a positive number or None (learned); got {df!r}")
        self.df = df
        self.max_iter, self.tol = max_iter, check_tol(tol)
        for name in ("noise_variance_", "df_", "weights_"):
            self.register_buffer(name, None)

    def noise_diagonal(self) -> Tensor:
        return self.noise_variance_.expand(self.mean_.shape[0])

    def _maha(self, x: Tensor) -> tuple[Tensor, Tensor]:
        chol = precision_cholesky(self.covariance_, "marginal covariance", remedy=(
            "use fewer components or more samples than components"))
        return ((x - self.mean_) @ chol).square().sum(-1), torch.diagonal(chol).log().sum()

    def _log_prob(self, x: Tensor) -> Tensor:
        maha, half_log_det = self._maha(x)
        return student_t_log_prob(maha, half_log_det, self.df_, x.shape[1])

    def fit(self, x: Tensor) -> StudentTPPCA:
        """EM from the Gaussian PPCA solution."""
        x = self._check_components(x)
        n, d = x.shape
        loadings, self.noise_variance_ = ppca_from_covariance(self._fit_moments(x),
                                                              self.n_components)
        self.components_ = loadings.T
        self.df_ = torch.tensor(10.0 if self.df is None else float(self.df), dtype=x.dtype,
                                device=x.device)

        def em_step() -> float:
            bound = self.score(x)
            maha, _ = self._maha(x)
            nu = self.df_
            weights = (nu + d) / (nu + maha)  # E[u | x], the E step
            self.mean_ = (weights @ x) / weights.sum()
            centred = (x - self.mean_) * weights.sqrt()[:, None]
            loadings, self.noise_variance_ = ppca_from_covariance(centred.T @ centred / n,
                                                                  self.n_components)
            self.components_ = loadings.T
            if self.df is None:
                e_log_u = torch.digamma((nu + d) / 2) - torch.log((nu + maha) / 2)
                self.df_ = self.df_.new_tensor(_solve_df(float((e_log_u - weights).mean())))
            self.weights_ = weights
            return bound

        self._iterate(em_step, self.max_iter, self.tol)
        return self

    def _sample(self, n: int, *, noise: bool = True,
                generator: torch.Generator | None = None) -> Tensor:
        gaussian = super()._sample(n, noise=noise, generator=generator) - self.mean_
        u = gamma_draw((self.df_ / 2).expand(n), generator) / (self.df_ / 2)
        return self.mean_ + gaussian / u.sqrt()[:, None]
