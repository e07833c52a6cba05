"""Mixtures of independent Bernoullis, fitted by EM: a first latent-variable model of images.

p(x) = sum_k pi_k prod_d mu_kd^{x_d} (1 - mu_kd)^{1 - x_d}. Each component is the independent
model of lecture 00, but the mixture as a whole captures pixel dependencies: pixels that are
on together are explained by the same component (Bishop 2006, section 9.3.3).

The M step adds `alpha` pseudo-counts of each outcome per pixel and component, i.e. a
Beta(alpha + 1, alpha + 1) prior, so that a pixel never seen on within a component does not get
probability 0 (and a test image log-likelihood of -inf). EM then maximises the log posterior,
and `lower_bounds_` records that objective per example: the mean log-likelihood plus
log p(mu) / N. It equals the mean log-likelihood when alpha = 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.mixtures._em import EMMixture
from gmlib.validation import Support, check_nonnegative

__all__ = ["BernoulliMixture"]


class BernoulliMixture(EMMixture):
    """A mixture of K products of Bernoullis over binary vectors.

    Args:
        n_components: K.
        alpha: pseudo-count of each outcome per pixel and component (MAP with a Beta prior).
        max_iter, tol, n_init, init, random_state: see `EMMixture`.
        dtype: of the fitted parameters (float64 by default).

    Fitted attributes:
        weights_ (K,), means_ (K, D) pixel probabilities, lower_bounds_, lower_bound_,
        converged_, n_iter_.

    Shapes:
        x: (N, D) binary; log_prob -> (N,); sample(n) -> (n, D)
    """

    means_: Tensor

    def __init__(self, n_components: int = 1, *, alpha: float = 0.5, max_iter: int = 100,
                 tol: float = 1e-4, n_init: int = 1, init: str = "kmeans++",
                 random_state: int | None = None, dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, max_iter=max_iter, tol=tol, n_init=n_init, init=init,
                         random_state=random_state, support=Support.binary(), dtype=dtype)
        self.alpha = check_nonnegative(alpha, "alpha")
        self.register_buffer("means_", None)

    @property
    def n_parameters(self) -> int:
        """K - 1 weights and K D pixel probabilities."""
        return self.n_components - 1 + self.means_.numel()

    def _m_step(self, x: Tensor, resp: Tensor) -> None:
        nk = resp.sum(0)  # (K,)
        self.means_ = (resp.T @ x + self.alpha) / (nk[:, None] + 2 * self.alpha)
        weights = nk + 10 * torch.finfo(x.dtype).eps
        self.weights_ = weights / weights.sum()

    def _log_joint(self, x: Tensor) -> Tensor:
        # xlogy-style products keep 0 * log 0 = 0 when alpha = 0 leaves exact zeros
        log_on = torch.xlogy(x[:, None, :], self.means_[None])
        log_off = torch.xlogy(1 - x[:, None, :], 1 - self.means_[None])
        return (log_on + log_off).sum(-1) + self.weights_.log()

    def _log_prior(self) -> float:
        if self.alpha == 0:
            return 0.0
        means = self.means_
        return float(self.alpha * (means.log() + (1 - means).log()).sum())

    def _em_step(self, x: Tensor) -> float:
        log_prior = self._log_prior()  # of the parameters this E step uses
        return super()._em_step(x) + log_prior / len(x)

    def _sample_components(self, components: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
        return torch.bernoulli(self.means_[components], generator=generator)
