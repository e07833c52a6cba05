"""The fully Bayesian Gaussian mixture, fitted by variational Bayes (Bishop 2006, section 10.2).

Priors: pi ~ Dirichlet(alpha_0, ..., alpha_0), and for each component a Normal-Wishart prior
on (mu_k, Lambda_k = Sigma_k^{-1}), i.e. a Normal-inverse-Wishart on (mu_k, Sigma_k):
Lambda_k ~ Wishart(W_0, nu_0), mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^{-1}).
The mean-field posterior q(Z) q(pi) q(mu, Lambda) keeps the same conjugate forms; coordinate
ascent alternates responsibilities (E step) and posterior hyper-parameters (M step) and never
lowers the evidence lower bound (ELBO), which is recorded at every iteration.

Two effects of the priors, the point of lecture 03's last section:
* with a small alpha_0 (< 1) the Dirichlet favours few non-empty components, so superfluous
  components switch themselves off (their expected weight falls to alpha_0 / (alpha_0 K + N));
* the Wishart prior adds W_0^{-1} to every scatter matrix, so no component can collapse onto a
  point: no `reg_covar` is needed.

References:
    Bishop, Pattern Recognition and Machine Learning (2006), eqs. 10.46-10.77 and 10.81.
    Attias, A variational Bayesian framework for graphical models (NeurIPS 2000).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.densities import LOG_2PI, mahalanobis, precision_cholesky, student_t_log_prob
from gmlib.draws import gamma_draw
from gmlib.mixtures._em import EMMixture
from gmlib.validation import Support, check_nonnegative

__all__ = ["BayesianGaussianMixture"]


def _log_wishart_norm(log_det_w: Tensor, nu: Tensor, d: int) -> Tensor:
    """ln B(W, nu), the log normaliser of a Wishart (Bishop eq. B.79)."""
    i = torch.arange(1, d + 1, dtype=nu.dtype, device=nu.device)
    return -(0.5 * nu * log_det_w + 0.5 * nu * d * math.log(2) + 0.25 * d * (d - 1) * math.log(
        math.pi) + torch.lgamma((nu[..., None] + 1 - i) / 2).sum(-1))


def _log_dirichlet_norm(alpha: Tensor) -> Tensor:
    """ln C(alpha) (Bishop eq. B.23)."""
    return torch.lgamma(alpha.sum()) - torch.lgamma(alpha).sum()


def _half_log_det(prec_chol: Tensor) -> Tensor:
    """1/2 log|P P^T| for upper-triangular factors, shape (K,)."""
    return torch.diagonal(prec_chol, dim1=-2, dim2=-1).log().sum(-1)


class BayesianGaussianMixture(EMMixture):
    """A Gaussian mixture (full covariances) with Dirichlet and Normal-Wishart priors, by VB.

    Args:
        n_components: K_max, an upper bound; the fit decides how many are used.
        weight_concentration_prior: alpha_0 (default 1 / K).
        mean_precision_prior: beta_0 (default 1).
        mean_prior: m_0, shape (D,) (default: the data mean).
        degrees_of_freedom_prior: nu_0 > D - 1 (default D).
        covariance_prior: W_0^{-1}, shape (D, D) (default: the data covariance + 1e-6 I).
        max_iter, tol, n_init, init, random_state: see `EMMixture`; tol applies to the ELBO
            per example.
        weight_threshold: an expected weight above it counts as an effective component.

    Fitted attributes:
        weight_concentration_ (alpha_k), mean_precision_ (beta_k), means_ (m_k),
        degrees_of_freedom_ (nu_k), covariances_ (the posterior-mean covariances
        W_k^{-1} / nu_k, as scikit-learn), precisions_cholesky_ (of nu_k W_k), weights_
        (expected weights alpha_k / sum alpha), lower_bounds_ (ELBO per example),
        n_effective_components_, and the priors with a trailing underscore.

    `log_prob` is the posterior predictive density, a mixture of Student-t distributions
    (Bishop eq. 10.81): parameter uncertainty widens it, unlike a plug-in GMM.

    Shapes:
        x: (N, D); log_prob -> (N,); predict_proba -> (N, K); sample(n) -> (n, D)
    """

    means_: Tensor
    covariances_: Tensor
    precisions_cholesky_: Tensor
    weight_concentration_: Tensor
    mean_precision_: Tensor
    degrees_of_freedom_: Tensor
    mean_prior_: Tensor
    covariance_prior_: Tensor

    def __init__(self, n_components: int = 1, *, weight_concentration_prior: float | None = None,
                 mean_precision_prior: float = 1.0, mean_prior: Tensor | None = None,
                 degrees_of_freedom_prior: float | None = None,
                 covariance_prior: Tensor | None = None, max_iter: int = 200,
                 tol: float = 1e-6, n_init: int = 1, init: str = "kmeans++",
                 random_state: int | None = None, weight_threshold: float = 0.01,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(n_components, max_iter=max_iter, tol=tol, n_init=n_init, init=init,
                         random_state=random_state, support=Support.real(), dtype=dtype)
        if weight_concentration_prior is not None and not (
                check_nonnegative(weight_concentration_prior, "weight_concentration_prior") > 0):
            raise ValueError("weight_concentration_prior must be > 0")
        if not check_nonnegative(mean_precision_prior, "mean_precision_prior") > 0:
            raise ValueError("mean_precision_prior must be > 0")
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = float(mean_precision_prior)
        self.mean_prior, self.covariance_prior = mean_prior, covariance_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.weight_threshold = check_nonnegative(weight_threshold, "weight_threshold")
        for name in ("means_", "covariances_", "precisions_cholesky_", "weight_concentration_",
                     "mean_precision_", "degrees_of_freedom_", "mean_prior_",
                     "covariance_prior_"):
            self.register_buffer(name, None)

    # ------------------------------------------------------------------ priors

    def _set_priors(self, x: Tensor) -> None:
        n, d = x.shape
        like = {"dtype": x.dtype, "device": x.device}
        alpha0 = self.weight_concentration_prior or 1.0 / self.n_components
        nu0 = d if self.degrees_of_freedom_prior is None else self.degrees_of_freedom_prior
        if not nu0 > d - 1:
            raise ValueError(f"degrees_of_freedom_prior must be > n_features - 1 = {d - 1}; got "
                             f"{nu0!r}")
        self.weight_concentration_prior_ = float(alpha0)
        self.mean_precision_prior_ = self.mean_precision_prior
        self.degrees_of_freedom_prior_ = float(nu0)
        if self.mean_prior is None:
            self.mean_prior_ = x.mean(0)
        elif tuple(self.mean_prior.shape) != (d,):
            raise ValueError(f"mean_prior must have shape ({d},); got "
                             f"{tuple(self.mean_prior.shape)}")
        else:
            self.mean_prior_ = self.mean_prior.to(**like)
        if self.covariance_prior is None:
            centred = x - x.mean(0)
            self.covariance_prior_ = (centred.T @ centred / max(n - 1, 1)
                                      + 1e-6 * torch.eye(d, **like))
        elif tuple(self.covariance_prior.shape) != (d, d):
            raise ValueError(f"covariance_prior must have shape ({d}, {d}); got "
                             f"{tuple(self.covariance_prior.shape)}")
        else:
            self.covariance_prior_ = self.covariance_prior.to(**like)
        precision_cholesky(self.covariance_prior_, "covariance_prior")  # checks it is PD

    def _initialize(self, x: Tensor, gen: torch.Generator) -> None:
        self._set_priors(x)
        super()._initialize(x, gen)

    # ------------------------------------------------------------------ VB updates

    def _statistics(self, x: Tensor, resp: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """N_k, the weighted means and N_k S_k (weighted scatter), Bishop eqs. 10.51-10.53."""
        nk = resp.sum(0)
        xbar = resp.T @ x / (nk[:, None] + 1e-300)
        diff = x[None] - xbar[:, None]  # (K, N, D)
        scatter = torch.einsum("nk,knd,kne->kde", resp, diff, diff)
        return nk, xbar, scatter

    def _m_step(self, x: Tensor, resp: Tensor) -> None:
        nk, xbar, scatter = self._statistics(x, resp)
        beta0, m0 = self.mean_precision_prior_, self.mean_prior_
        nu0 = self.degrees_of_freedom_prior_
        self.weight_concentration_ = self.weight_concentration_prior_ + nk  # 10.58
        self.mean_precision_ = beta0 + nk  # 10.60
        self.means_ = (beta0 * m0 + nk[:, None] * xbar) / self.mean_precision_[:, None]  # 10.61
        d0 = xbar - m0
        w_inv = (self.covariance_prior_ + scatter + (beta0 * nk / self.mean_precision_)[
            :, None, None] * d0[:, :, None] * d0[:, None, :])  # 10.62
        self.degrees_of_freedom_ = nu0 + nk  # 10.63
        self.covariances_ = w_inv / self.degrees_of_freedom_[:, None, None]
        self.precisions_cholesky_ = precision_cholesky(self.covariances_)
        self.weights_ = self.weight_concentration_ / self.weight_concentration_.sum()
        self._resp_stats = (nk, xbar, scatter)

    def _expectations(self) -> tuple[Tensor, Tensor, Tensor]:
        """E[ln pi_k], E[ln |Lambda_k|] and ln |W_k| (Bishop eqs. 10.65-10.66)."""
        d = self.means_.shape[1]
        nu = self.degrees_of_freedom_
        log_det_w = 2 * _half_log_det(self.precisions_cholesky_) - d * nu.log()
        i = torch.arange(1, d + 1, dtype=nu.dtype, device=nu.device)
        e_log_lambda = (torch.digamma((nu[:, None] + 1 - i) / 2).sum(1) + d * math.log(2)
                        + log_det_w)
        alpha = self.weight_concentration_
        e_log_pi = torch.digamma(alpha) - torch.digamma(alpha.sum())
        return e_log_pi, e_log_lambda, log_det_w

    def _log_joint(self, x: Tensor) -> Tensor:
        """ln rho_nk (Bishop eq. 10.46); the E step normalises it into responsibilities."""
        d = x.shape[1]
        e_log_pi, e_log_lambda, _ = self._expectations()
        # nu_k (x - m_k)^T W_k (x - m_k) = ||(x - m_k) P_k||^2 with P_k P_k^T = nu_k W_k
        quad = mahalanobis(x[:, None, :] - self.means_[None], self.precisions_cholesky_)
        e_quad = d / self.mean_precision_ + quad  # 10.64
        return e_log_pi + 0.5 * e_log_lambda - 0.5 * d * LOG_2PI - 0.5 * e_quad

    def _lower_bound(self, x: Tensor, resp: Tensor, log_norm: Tensor) -> float:
        """The ELBO per example after the M step (Bishop eqs. 10.70-10.77)."""
        nk, xbar, scatter = self._resp_stats
        d, k = x.shape[1], self.n_components
        alpha0, beta0 = self.weight_concentration_prior_, self.mean_precision_prior_
        nu0, m0 = self.degrees_of_freedom_prior_, self.mean_prior_
        alpha, beta, nu, m = (self.weight_concentration_, self.mean_precision_,
                              self.degrees_of_freedom_, self.means_)
        e_log_pi, e_log_lambda, log_det_w = self._expectations()
        w = self._wishart_scale()
        tr_sw = torch.einsum("kde,ked->k", scatter, w)  # N_k tr(S_k W_k)
        dx = xbar - m
        quad_x = nu * torch.einsum("kd,kde,ke->k", dx, w, dx)
        e_lik = 0.5 * (nk * (e_log_lambda - d / beta - quad_x - d * LOG_2PI) - nu * tr_sw).sum()
        e_z = (resp * e_log_pi).sum()
        alpha0s = torch.full_like(alpha, alpha0)
        e_pi = _log_dirichlet_norm(alpha0s) + (alpha0 - 1) * e_log_pi.sum()
        dm = m - m0
        quad_m = beta0 * nu * torch.einsum("kd,kde,ke->k", dm, w, dm)
        log_det_w0 = -torch.logdet(self.covariance_prior_)
        nu0s = torch.full_like(nu, nu0)
        tr_w0w = torch.einsum("de,ked->k", self.covariance_prior_, w)
        e_mu_lambda = (0.5 * (d * math.log(beta0 / (2 * math.pi)) + e_log_lambda
                              - d * beta0 / beta - quad_m).sum()
                       + _log_wishart_norm(log_det_w0.expand(k), nu0s, d).sum()
                       + 0.5 * (nu0 - d - 1) * e_log_lambda.sum() - 0.5 * (nu * tr_w0w).sum())
        e_qz = torch.xlogy(resp, resp).sum()
        e_qpi = ((alpha - 1) * e_log_pi).sum() + _log_dirichlet_norm(alpha)
        entropy_lambda = (-_log_wishart_norm(log_det_w, nu, d) - 0.5 * (nu - d - 1) * e_log_lambda
                          + 0.5 * nu * d)
        e_q_mu_lambda = (0.5 * e_log_lambda + 0.5 * d * (beta / (2 * math.pi)).log() - 0.5 * d
                         - entropy_lambda).sum()
        elbo = e_lik + e_z + e_pi + e_mu_lambda - e_qz - e_qpi - e_q_mu_lambda
        return float(elbo) / len(x)

    def _wishart_scale(self) -> Tensor:
        """W_k of q(Lambda_k) = Wishart(W_k, nu_k), shape (K, D, D)."""
        chol = self.precisions_cholesky_
        return chol @ chol.mT / self.degrees_of_freedom_[:, None, None]

    # ------------------------------------------------------------------ results

    def fit(self, x: Tensor) -> BayesianGaussianMixture:
        """Variational Bayes from `n_init` initialisations, keeping the highest ELBO."""
        super().fit(x)
        self.n_effective_components_ = int((self.weights_ > self.weight_threshold).sum())
        return self

    @property
    def n_parameters(self) -> int:
        """Variational parameters: alpha_k, beta_k, nu_k, m_k and W_k for each component."""
        d = self.means_.shape[1]
        return self.n_components * (3 + d + d * (d + 1) // 2)

    def _predictive(self) -> tuple[Tensor, Tensor]:
        """Degrees of freedom and precision factors of the Student-t components (eq. 10.81)."""
        d = self.means_.shape[1]
        df = self.degrees_of_freedom_ + 1 - d
        beta = self.mean_precision_
        # L_k = df beta_k / (1 + beta_k) W_k; P_k P_k^T = nu_k W_k, so rescale P_k
        scale = (df * beta / ((1 + beta) * self.degrees_of_freedom_)).sqrt()
        return df, self.precisions_cholesky_ * scale[:, None, None]

    def _log_prob(self, x: Tensor) -> Tensor:
        df, chol = self._predictive()
        maha = mahalanobis(x[:, None, :] - self.means_[None], chol)
        log_t = student_t_log_prob(maha, _half_log_det(chol), df, x.shape[1])
        return torch.logsumexp(log_t + self.weights_.log(), dim=1)

    def _sample_components(self, components: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
        df, chol = self._predictive()
        d = self.means_.shape[1]
        noise = torch.randn(len(components), d, dtype=self.dtype, device=self.means_.device,
                            generator=generator)
        inverse = torch.linalg.inv(chol)  # noise P_k^{-1} has covariance (P_k P_k^T)^{-1}
        for k in components.unique():
            rows = components == k
            noise[rows] = noise[rows] @ inverse[k]
        chi2 = 2 * gamma_draw(df[components] / 2, generator)
        return self.means_[components] + noise * (df[components] / chi2).sqrt()[:, None]
