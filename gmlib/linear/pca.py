"""PCA read as a generative model, and probabilistic PCA fitted in closed form or by EM.

PCA finds the q directions of largest variance. Read generatively, x = mu + W z with
z ~ N(0, I) puts every sample *on* a q-dimensional plane: a degenerate density (seed 001's
"PCA without noise"). Adding isotropic noise, x = mu + W z + eps with eps ~ N(0, sigma^2 I),
gives probabilistic PCA, whose maximum-likelihood solution is PCA itself: the same
directions, sigma^2 the mean variance of the discarded ones (Tipping & Bishop 1999).

References:
    Tipping & Bishop, Probabilistic principal component analysis (JRSS B 1999).
    Roweis, EM algorithms for PCA and SPCA (NeurIPS 1998).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.estimator import check_tol, generator
from gmlib.linear._gaussian import LinearGaussianModel, check_in, ppca_from_covariance

__all__ = ["PCA", "PPCA"]


class PCA(LinearGaussianModel):
    """Principal component analysis with scikit-learn's probabilistic reading.

    `components_` (q, D) are orthonormal directions, `explained_variance_` (q,) the variances
    along them (denominator N - 1, as scikit-learn), `noise_variance_` the mean of the other
    eigenvalues. `log_prob` is then the PPCA density N(mu, W W^T + sigma^2 I) with
    W = components_^T diag(explained_variance_ - sigma^2)^{1/2}; it equals scikit-learn's
    `PCA.score_samples`. `sample(n, noise=False)` draws from the noiseless model, which puts
    each point on the principal subspace with the data's variance along each direction.

    Args:
        n_components: q.
        dtype: of the fitted tensors.
    """

    explained_variance_: Tensor
    noise_variance_: Tensor

    def __init__(self, n_components: int, *, dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, dtype)
        self.register_buffer("explained_variance_", None)
        self.register_buffer("noise_variance_", None)

    def fit(self, x: Tensor) -> PCA:
        """Eigen-decomposition of the sample covariance (by SVD of the centred data)."""
        x = self._check_components(x)
        n, d = x.shape
        self.mean_ = x.mean(0)
        _, singular, vt = torch.linalg.svd(x - self.mean_, full_matrices=False)
        signs = torch.sign(vt.gather(1, vt.abs().argmax(1, keepdim=True)))
        vt = vt * torch.where(signs == 0, 1.0, signs)  # scikit-learn's svd_flip convention
        variances = singular.square() / (n - 1)
        q = self.n_components
        self.components_ = vt[:q]
        self.explained_variance_ = variances[:q]
        self.noise_variance_ = variances[q:].mean() if q < min(n, d) else variances.new_zeros(())
        self.explained_variance_ratio_ = (variances[:q] / variances.sum()).tolist()
        return self

    @property
    def loadings(self) -> Tensor:
        """W = components_^T diag(explained_variance_ - sigma^2)^{1/2}, shape (D, q)."""
        scale = (self.explained_variance_ - self.noise_variance_).clamp_min(0).sqrt()
        return self.components_.T * scale

    def noise_diagonal(self) -> Tensor:
        return self.noise_variance_.expand(self.mean_.shape[0])

    def transform(self, x: Tensor) -> Tensor:
        """The classical projection (x - mu) components_^T, shape (N, q)."""
        return (self.validate_input(x) - self.mean_) @ self.components_.T

    def _sample(self, n: int, *, noise: bool = True,
                generator: torch.Generator | None = None) -> Tensor:
        if noise:
            return super()._sample(n, noise=True, generator=generator)
        z = torch.randn(n, self.n_components, dtype=self.dtype, device=self.mean_.device,
                        generator=generator)
        return self.inverse_transform(z * self.explained_variance_.sqrt())


class PPCA(LinearGaussianModel):
    """Probabilistic PCA, x = mu + W z + eps, eps ~ N(0, sigma^2 I), by maximum likelihood.

    Args:
        n_components: q.
        method: `"closed_form"` (eigen-decomposition, Tipping & Bishop eqs. 7-8) or `"em"`
            (Tipping & Bishop eqs. 29-30, which never forms the D x D eigenproblem of PCA
            and records `lower_bounds_`, the mean log-likelihood before each M step).
        max_iter, tol: of EM; tol on the change of the mean log-likelihood.
        random_state: seeds EM's random initial W.
        dtype: of the fitted tensors.

    Fitted attributes: `mean_`, `components_` (q, D) = W^T, `noise_variance_` (sigma^2), and
    for EM `lower_bounds_`, `converged_`, `n_iter_`.
    """

    noise_variance_: Tensor

    def __init__(self, n_components: int, *, method: str = "closed_form", max_iter: int = 1000,
                 tol: float = 1e-6, random_state: int | None = 0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, dtype)
        self.method = check_in(method, ("closed_form", "em"), "method")
        self.max_iter, self.tol, self.random_state = max_iter, check_tol(tol), random_state
        self.register_buffer("noise_variance_", None)

    def noise_diagonal(self) -> Tensor:
        return self.noise_variance_.expand(self.mean_.shape[0])

    def fit(self, x: Tensor) -> PPCA:
        """Maximum likelihood; both methods reach the same W W^T and sigma^2."""
        x = self._check_components(x)
        covariance = self._fit_moments(x)  # the MLE uses 1/N
        if self.method == "closed_form":
            loadings, self.noise_variance_ = ppca_from_covariance(covariance, self.n_components)
            self.components_ = loadings.T
            return self._check_noise(covariance)
        d, q = covariance.shape[0], self.n_components
        gen = generator(self.random_state)
        self.components_ = torch.randn(q, d, generator=gen, dtype=x.dtype).to(x.device)
        self.noise_variance_ = torch.diagonal(covariance).mean()
        eye = torch.eye(q, dtype=x.dtype, device=x.device)

        def em_step() -> float:
            bound = self.score(x)  # the likelihood this step starts from
            w, sigma2 = self.loadings, self.noise_variance_
            m_inv = torch.linalg.inv(w.T @ w + sigma2 * eye)
            sw = covariance @ w
            w_new = sw @ torch.linalg.inv(sigma2 * eye + m_inv @ w.T @ sw)
            self.noise_variance_ = torch.trace(covariance - sw @ m_inv @ w_new.T) / d
            self.components_ = w_new.T
            return bound

        self._iterate(em_step, self.max_iter, self.tol)
        return self._check_noise(covariance)

    def _check_noise(self, covariance: Tensor) -> PPCA:
        """Refuse a fit whose noise variance is (numerically) zero: the data lie in a
        subspace of at most q dimensions (e.g. N <= q + 1 samples), so the density would
        be singular and its samples NaN."""
        scale = float(torch.diagonal(covariance).mean())
        if not float(self.noise_variance_) > 1e-10 * max(scale, 1e-300):
            rank = int(torch.linalg.matrix_rank(covariance))
            self.noise_variance_ = None
            raise ValueError(
                f"the data span only {rank} dimension(s), no more than n_components="
                f"{self.n_components}, so the noise variance is 0 and the density singular; "
                "use fewer components, or more samples than n_components + 1")
        return self
