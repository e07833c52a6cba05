"""Factor analysis: PPCA with a separate noise variance for every feature, fitted by EM.

x = mu + W z + eps, eps ~ N(0, Psi), Psi = diag(psi_1, ..., psi_D). PPCA's single sigma^2
makes a feature that is merely noisy look like signal, and the principal directions turn
towards it; factor analysis explains such a feature by its own psi_d instead. There is no
closed form; EM (Bishop 2006, eqs. 12.66-12.70) uses the Gaussian posterior of z.

References:
    Rubin & Thayer, EM algorithms for ML factor analysis (Psychometrika 1982).
    Ghahramani & Hinton, The EM algorithm for mixtures of factor analyzers (1996).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.estimator import check_tol
from gmlib.linear._gaussian import LinearGaussianModel, ppca_from_covariance

__all__ = ["FactorAnalysis"]

_MIN_NOISE = 1e-9  # keeps a Heywood case (psi_d -> 0) from making the covariance singular


class FactorAnalysis(LinearGaussianModel):
    """Factor analysis by EM, started from PPCA on the correlation matrix.

    Args:
        n_components: q.
        max_iter, tol: of EM; tol on the change of the mean log-likelihood.
        dtype: of the fitted tensors.

    Fitted attributes: `mean_`, `components_` (q, D) = W^T, `noise_variance_` (D,) = psi,
    `lower_bounds_` (mean log-likelihood before each M step), `converged_`, `n_iter_`.
    """

    noise_variance_: Tensor

    def __init__(self, n_components: int, *, max_iter: int = 1000, tol: float = 1e-6,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, dtype)
        self.max_iter, self.tol = max_iter, check_tol(tol)
        self.register_buffer("noise_variance_", None)

    def noise_diagonal(self) -> Tensor:
        return self.noise_variance_

    def fit(self, x: Tensor) -> FactorAnalysis:
        """EM on the sample covariance S; only S enters the updates."""
        x = self._check_components(x)
        covariance = self._fit_moments(x)
        # start from PPCA on the correlation matrix (principal-axis factoring): on the raw
        # covariance a large, purely noisy feature would attract the first factor
        std = torch.diagonal(covariance).clamp_min(_MIN_NOISE).sqrt()
        loadings, _ = ppca_from_covariance(covariance / std[:, None] / std, self.n_components)
        self.components_ = (loadings * std[:, None]).T
        self.noise_variance_ = (torch.diagonal(covariance) - self.components_.square().sum(0)
                                ).clamp_min(0.01 * torch.diagonal(covariance).mean())
        eye = torch.eye(self.n_components, dtype=x.dtype, device=x.device)

        def em_step() -> float:
            bound = self.score(x)
            w, psi = self.loadings, self.noise_variance_
            # E step, in terms of S: G = Cov[z | x] and B maps x - mu to E[z | x] = B^T (x - mu)
            g = torch.linalg.inv(eye + w.T @ (w / psi[:, None]))
            b = (w / psi[:, None]) @ g  # (D, q)
            sb = covariance @ b
            w_new = sb @ torch.linalg.inv(g + b.T @ sb)  # sum x E[z]^T (sum E[z z^T])^{-1}
            self.noise_variance_ = (torch.diagonal(covariance) - (w_new * sb).sum(1)).clamp_min(
                _MIN_NOISE)
            self.components_ = w_new.T
            return bound

        self._iterate(em_step, self.max_iter, self.tol)
        return self
