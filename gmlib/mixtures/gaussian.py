"""Gaussian mixture models fitted by EM, in torch, step for step like scikit-learn.

p(x) = sum_k pi_k N(x | mu_k, Sigma_k). E step: responsibilities r_nk = p(k | x_n). M step
(Bishop 2006, eqs. 9.24-9.27): N_k = sum_n r_nk, pi_k = N_k / N, mu_k = sum_n r_nk x_n / N_k,
Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar I. The small `reg_covar`
keeps a component that collapses onto one point from driving the likelihood to infinity.

References:
    Dempster, Laird & Rubin, Maximum likelihood from incomplete data via the EM algorithm
    (JRSS B 1977). Bishop, Pattern Recognition and Machine Learning (2006), chapter 9.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.densities import gaussian_log_prob, mahalanobis, precision_cholesky
from gmlib.mixtures._em import EMMixture
from gmlib.validation import Support, check_nonnegative, check_tensor

__all__ = ["COVARIANCE_TYPES", "GaussianMixture"]

COVARIANCE_TYPES = ("full", "diag", "spherical")
_EPS_COUNT = 10  # scikit-learn adds 10 machine epsilons to N_k so empty components stay finite


class GaussianMixture(EMMixture):
    """A mixture of K Gaussians with full, diagonal or spherical covariances, fitted by EM.

    Args:
        n_components: K.
        covariance_type: `"full"` (K, D, D), `"diag"` (K, D) or `"spherical"` (K,).
        reg_covar: added to the diagonal of every covariance in the M step.
        max_iter, tol, n_init, init, random_state: see `EMMixture`.
        weights_init, means_init, precisions_init: an explicit initialisation (any subset);
            the rest comes from `init`. With all three, the first E step uses exactly these
            parameters, as scikit-learn's arguments of the same names do.
        dtype: of the fitted parameters (float64 by default).

    Fitted attributes:
        weights_ (K,), means_ (K, D), covariances_ and precisions_cholesky_ (shape by
        covariance type), lower_bounds_ (mean log-likelihood at each iteration),
        lower_bound_, converged_, n_iter_.

    Shapes:
        x: (N, D); log_prob -> (N,); predict_proba -> (N, K); sample(n) -> (n, D)

    Examples:
        >>> import torch
        >>> gen = torch.Generator().manual_seed(0)
        >>> x = torch.cat([torch.randn(100, 2, generator=gen) - 4,
        ...                torch.randn(100, 2, generator=gen) + 4])
        >>> mixture = GaussianMixture(2, random_state=0).fit(x)
        >>> mixture.predict(torch.tensor([[-4.0, -4.0], [4.0, 4.0]])).tolist()
        [0, 1]
    """

    means_: Tensor
    covariances_: Tensor
    precisions_cholesky_: Tensor

    def __init__(self, n_components: int = 1, *, covariance_type: str = "full",
                 reg_covar: float = 1e-6, max_iter: int = 100, tol: float = 1e-3,
                 n_init: int = 1, init: str = "kmeans++", random_state: int | None = None,
                 weights_init: Tensor | None = None, means_init: Tensor | None = None,
                 precisions_init: Tensor | None = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, max_iter=max_iter, tol=tol, n_init=n_init, init=init,
                         random_state=random_state, support=Support.real(), dtype=dtype)
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got "
                             f"{covariance_type!r}")
        self.covariance_type = covariance_type
        self.reg_covar = check_nonnegative(reg_covar, "reg_covar")
        self.weights_init, self.means_init, self.precisions_init = (
            weights_init, means_init, precisions_init)
        for name in ("means_", "covariances_", "precisions_cholesky_"):
            self.register_buffer(name, None)

    # ------------------------------------------------------------------ parameters

    @property
    def n_parameters(self) -> int:
        """Free parameters: K - 1 weights, K D means and the covariances."""
        k, d = self.n_components, self.means_.shape[1]
        per_cov = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}[self.covariance_type]
        return (k - 1) + k * d + k * per_cov

    @property
    def precisions_(self) -> Tensor:
        """Sigma_k^{-1}, shape as `covariances_`."""
        chol = self.precisions_cholesky_
        return chol @ chol.mT if self.covariance_type == "full" else chol.square()

    def _set_covariances(self, covariances: Tensor) -> None:
        self.covariances_ = covariances
        if self.covariance_type == "full":
            self.precisions_cholesky_ = precision_cholesky(covariances)
        else:
            if bool((covariances <= 0).any()):
                raise ValueError("a variance is not positive (a component collapsed onto one "
                                 "point); increase reg_covar or use fewer components")
            self.precisions_cholesky_ = covariances.rsqrt()

    def _m_step(self, x: Tensor, resp: Tensor) -> None:
        nk = resp.sum(0) + _EPS_COUNT * torch.finfo(resp.dtype).eps  # (K,)
        means = resp.T @ x / nk[:, None]  # (K, D)
        diff = x[None] - means[:, None]  # (K, N, D)
        if self.covariance_type == "full":
            cov = torch.einsum("nk,knd,kne->kde", resp, diff, diff) / nk[:, None, None]
            cov = cov + self.reg_covar * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        else:
            cov = torch.einsum("nk,knd->kd", resp, diff.square()) / nk[:, None] + self.reg_covar
            if self.covariance_type == "spherical":
                cov = cov.mean(1)
        self.weights_, self.means_ = nk / nk.sum(), means
        self._set_covariances(cov)

    def _initialize(self, x: Tensor, gen: torch.Generator) -> None:
        super()._initialize(x, gen)
        k, d = self.n_components, x.shape[1]
        like = {"dtype": x.dtype, "device": x.device}
        if self.weights_init is not None:
            weights = expect_init(self.weights_init, (k,), "weights_init").to(**like)
            if bool((weights < 0).any()) or abs(float(weights.sum()) - 1) > 1e-6:
                raise ValueError("weights_init must be non-negative and sum to one")
            self.weights_ = weights
        if self.means_init is not None:
            self.means_ = expect_init(self.means_init, (k, d), "means_init").to(**like)
        if self.precisions_init is not None:
            shape = {"full": (k, d, d), "diag": (k, d), "spherical": (k,)}[self.covariance_type]
            precisions = expect_init(self.precisions_init, shape, "precisions_init").to(**like)
            self._set_covariances(torch.linalg.inv(precisions) if self.covariance_type == "full"
                                  else 1.0 / precisions)

    # ------------------------------------------------------------------ densities

    def _component_log_prob(self, x: Tensor) -> Tensor:
        """log N(x_n | mu_k, Sigma_k), shape (N, K)."""
        d = x.shape[1]
        diff = x[:, None, :] - self.means_[None]  # (N, K, D)
        chol = self.precisions_cholesky_
        if self.covariance_type == "full":
            maha = mahalanobis(diff, chol)
            half_log_det = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)
        elif self.covariance_type == "diag":
            maha = (diff.square() * chol.square()).sum(-1)
            half_log_det = chol.log().sum(-1)
        else:
            maha = diff.square().sum(-1) * chol.square()
            half_log_det = d * chol.log()
        return gaussian_log_prob(maha, half_log_det, d)

    def _log_joint(self, x: Tensor) -> Tensor:
        return self._component_log_prob(x) + self.weights_.log()

    def _sample_components(self, components: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
        d = self.means_.shape[1]
        noise = torch.randn(len(components), d, dtype=self.dtype, device=self.means_.device,
                            generator=generator)
        if self.covariance_type == "full":  # one Cholesky factor per component, not per draw
            scale = torch.linalg.cholesky(self.covariances_)
            for k in components.unique():
                rows = components == k
                noise[rows] = noise[rows] @ scale[k].T
        elif self.covariance_type == "diag":
            noise = noise * self.covariances_[components].sqrt()
        else:
            noise = noise * self.covariances_[components].sqrt()[:, None]
        return self.means_[components] + noise

    # ------------------------------------------------------------------ model selection

    def bic(self, x: Tensor) -> float:
        """Bayesian information criterion, -2 log p(X) + p log N (lower is better)."""
        return -2 * self.score(x) * len(x) + self.n_parameters * math.log(len(x))

    def aic(self, x: Tensor) -> float:
        """Akaike information criterion, -2 log p(X) + 2 p (lower is better)."""
        return -2 * self.score(x) * len(x) + 2 * self.n_parameters


def expect_init(value: object, shape: tuple[int, ...], name: str) -> Tensor:
    """An explicit initial parameter as a tensor of `shape`, or a ValueError naming it."""
    check_tensor(value, name)
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}; got {tuple(value.shape)}")
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must hold finite values")
    return value
