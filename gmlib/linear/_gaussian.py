"""The linear-Gaussian latent-variable model shared by PCA, PPCA and factor analysis.

z ~ N(0, I_q), x | z ~ N(mu + W z, Psi) with Psi diagonal, so x ~ N(mu, W W^T + Psi): the
marginal likelihood and the posterior p(z | x) are both Gaussian and exact (Bishop 2006,
section 12.2; Roweis & Ghahramani 1999). PPCA is Psi = sigma^2 I, factor analysis a general
diagonal Psi. Subclasses differ only in how `fit` sets mu, W and Psi.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from gmlib.densities import gaussian_log_prob, precision_cholesky
from gmlib.estimator import FittedEstimator, run_em
from gmlib.validation import Support, check_int, check_tensor

__all__ = ["LinearGaussianModel", "ppca_from_covariance", "subspace_angle"]


def ppca_from_covariance(covariance: Tensor, n_components: int) -> tuple[Tensor, Tensor]:
    """The maximum-likelihood PPCA parameters for a sample covariance S (Tipping & Bishop 1999).

    sigma^2 = the mean of the D - q smallest eigenvalues of S (the variance lost by the
    projection, per discarded direction), W = U_q (Lambda_q - sigma^2 I)^{1/2}, taking the
    rotation R = I; the columns of W are ordered by decreasing eigenvalue.

    Shapes:
        covariance: (D, D) -> returns W (D, q) and sigma^2 (a scalar tensor)
    """
    d = covariance.shape[0]
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    sigma2 = eigenvalues[n_components:].mean() if n_components < d else eigenvalues.new_zeros(())
    scale = (eigenvalues[:n_components] - sigma2).clamp_min(0).sqrt()
    loadings = eigenvectors[:, :n_components] * scale
    # a deterministic sign: the largest entry of each column is positive (like svd_flip)
    signs = torch.sign(loadings.gather(0, loadings.abs().argmax(0, keepdim=True)))
    return loadings * torch.where(signs == 0, 1.0, signs), sigma2


def subspace_angle(a: Tensor, b: Tensor) -> float:
    """The largest principal angle, in degrees, between the column spaces of `a` and `b`.

    0 means the same subspace, 90 that some direction of one is orthogonal to the other.

    Shapes:
        a: (D, q1), b: (D, q2)
    """
    qa, qb = torch.linalg.qr(a.double())[0], torch.linalg.qr(b.double())[0]
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1, 1)
    return math.degrees(math.acos(float(cosines.min())))


class LinearGaussianModel(FittedEstimator):
    """x = mu + W z + eps, z ~ N(0, I_q), eps ~ N(0, diag(psi)); subclasses implement `fit`.

    Fitted attributes: `mean_` (D,), `components_` (q, D) = W^T (scikit-learn's name), and the
    noise through `noise_diagonal()` (D,).

    Shapes:
        x: (N, D); log_prob -> (N,); posterior -> mean (N, q), covariance (q, q)
    """

    mean_: Tensor
    components_: Tensor

    def __init__(self, n_components: int, dtype: torch.dtype) -> None:
        super().__init__(Support.real(), dtype)
        self.n_components = check_int(n_components, "n_components", 1)
        self.register_buffer("mean_", None)
        self.register_buffer("components_", None)

    def _check_components(self, x: Tensor) -> Tensor:
        x = self._fit_data(x, 2)
        if self.n_components > x.shape[1]:
            raise ValueError(f"n_components={self.n_components} must be <= n_features="
                             f"{x.shape[1]}")
        return x

    def _fit_moments(self, x: Tensor) -> Tensor:
        """Set `mean_` to the sample mean; return the maximum-likelihood covariance (1/N)."""
        self.mean_ = x.mean(0)
        centred = x - self.mean_
        return centred.T @ centred / len(x)

    def _iterate(self, em_step: Callable[[], float], max_iter: int, tol: float) -> None:
        """Run EM steps; record `lower_bounds_`, `converged_` and `n_iter_`."""
        self.lower_bounds_, self.converged_ = run_em(em_step, max_iter=max_iter, tol=tol,
                                                     name=type(self).__name__)
        self.n_iter_ = len(self.lower_bounds_)

    # ------------------------------------------------------------------ the model

    @property
    def loadings(self) -> Tensor:
        """W, shape (D, q): column j is the image of the latent direction e_j."""
        return self.components_.T

    def noise_diagonal(self) -> Tensor:
        """The diagonal of Psi, shape (D,)."""
        raise NotImplementedError

    @property
    def covariance_(self) -> Tensor:
        """The marginal covariance W W^T + Psi, shape (D, D)."""
        w = self.loadings
        return w @ w.T + torch.diag(self.noise_diagonal())

    @property
    def n_parameters(self) -> int:
        """D means, D q loadings minus the q (q - 1) / 2 of a rotation, and the noise."""
        d, q = self.mean_.shape[0], self.n_components
        noise = 1 if self.noise_diagonal().unique().numel() == 1 else d
        return d + d * q - q * (q - 1) // 2 + noise

    def _log_prob(self, x: Tensor) -> Tensor:
        chol = precision_cholesky(self.covariance_, "marginal covariance", remedy=(
            "use fewer components or more samples than components"))
        maha = ((x - self.mean_) @ chol).square().sum(-1)
        return gaussian_log_prob(maha, torch.diagonal(chol).log().sum(), x.shape[1])

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """p(z | x) = N(M^{-1} W^T Psi^{-1} (x - mu), M^{-1}) with M = I + W^T Psi^{-1} W.

        Shapes:
            x: (N, D) -> returns mean (N, q) and covariance (q, q)
        """
        x = self.validate_input(x)
        w_scaled = self.loadings / self.noise_diagonal()[:, None]  # Psi^{-1} W
        m = torch.eye(self.n_components, dtype=x.dtype, device=x.device) + self.loadings.T @ (
            w_scaled)
        covariance = torch.linalg.inv(m)
        return (x - self.mean_) @ w_scaled @ covariance, covariance

    def transform(self, x: Tensor) -> Tensor:
        """Latent coordinates E[z | x], shape (N, q)."""
        return self.posterior(x)[0]

    def inverse_transform(self, z: Tensor) -> Tensor:
        """The noiseless reconstruction mu + W z, shape (N, D)."""
        check_tensor(z, "z")
        self._check_fitted()
        if z.dim() != 2 or z.shape[1] != self.n_components:
            raise ValueError(f"z must have shape (batch, {self.n_components}); got "
                             f"{tuple(z.shape)}")
        return self.mean_ + z.to(self.mean_) @ self.components_

    def _sample(self, n: int, *, noise: bool = True,
                generator: torch.Generator | None = None) -> Tensor:
        self._check_fitted()
        like = {"dtype": self.dtype, "device": self.mean_.device, "generator": generator}
        z = torch.randn(n, self.n_components, **like)
        x = self.mean_ + z @ self.loadings.T
        if noise:
            x = x + torch.randn(n, x.shape[1], **like) * self.noise_diagonal().sqrt()
        return x


def check_in(value: str, options: tuple[str, ...], name: str) -> str:
    """`value` must be one of `options`."""
    if value not in options:
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value
