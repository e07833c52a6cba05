"""Checks for the exercises of lecture 04 (PCA, probabilistic PCA, robust PCA)."""

from __future__ import annotations

import math

import torch

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise
from gmlib.linear import PPCA, subspace_angle


def _data(seed: int, n: int = 120, d: int = 6, q: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    w = 2 * torch.randn(d, q, generator=gen, dtype=torch.float64)
    z = torch.randn(n, q, generator=gen, dtype=torch.float64)
    return z @ w.T + 0.5 * torch.randn(n, d, generator=gen, dtype=torch.float64) + 1


def _scalar(value: object, what: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    raise Incorrect(f"{what} must be a number (or a 0-d tensor); got {type(value).__name__}")


@exercise("04.1", "PPCA in closed form")
def _closed_form(answer: object) -> str:
    for seed, q in ((0, 2), (1, 1), (2, 3)):
        x = _data(seed)
        model = PPCA(q).fit(x)
        got = expect_tuple(answer(x, q), ("mean", "W", "sigma2"))
        mean = expect_tensor(got[0], (x.shape[1],), "(D,)")
        w = expect_tensor(got[1], (x.shape[1], q), "(D, q)")
        sigma2 = _scalar(got[2], "sigma2")
        if not torch.allclose(mean, model.mean_):
            raise Incorrect("the mean is the sample mean of x")
        want_sigma2 = float(model.noise_variance_)
        if math.isclose(sigma2, want_sigma2 * len(x) / (len(x) - 1), rel_tol=1e-6):
            raise Incorrect("maximum likelihood uses the covariance with 1/N, not 1/(N - 1)")
        if not math.isclose(sigma2, want_sigma2, rel_tol=1e-6):
            raise Incorrect(f"sigma2 = {sigma2:.4g}, expected {want_sigma2:.4g}: the mean of the "
                            "D - q *smallest* eigenvalues of the sample covariance")
        w_w = w @ w.T
        if not torch.allclose(w_w, model.loadings @ model.loadings.T, atol=1e-6):
            if subspace_angle(w, model.loadings) < 1e-3:
                raise Incorrect("W spans the right subspace but has the wrong lengths: scale "
                                "eigenvector j by sqrt(lambda_j - sigma2), not sqrt(lambda_j)")
            raise Incorrect("W must span the top-q eigenvectors of the sample covariance "
                            "(torch.linalg.eigh returns them in ascending order)")
    return "PPCA's maximum likelihood is PCA: the top eigenvectors, each scaled by " \
           "sqrt(lambda_j - sigma2), and sigma2 the mean discarded eigenvalue."


@exercise("04.2", "The posterior of z")
def _posterior(answer: object) -> str:
    for seed, q in ((3, 2), (4, 1)):
        x = _data(seed, n=30)
        model = PPCA(q).fit(x)
        w, sigma2 = model.loadings, float(model.noise_variance_)
        want_mean, want_cov = model.posterior(x)
        m_inv = want_cov / sigma2  # (W^T W + sigma2 I)^{-1}, for diagnosing a missing sigma2
        got = expect_tuple(answer(x, model.mean_, w, sigma2), ("mean", "covariance"))
        mean = expect_tensor(got[0], (len(x), q), "(N, q)")
        cov = expect_tensor(got[1], (q, q), "(q, q)")
        if torch.allclose(cov, m_inv, atol=1e-8) and not torch.allclose(cov, want_cov):
            raise Incorrect("the covariance is sigma2 M^{-1}, not M^{-1}")
        least_squares = (x - model.mean_) @ w @ torch.linalg.inv(w.T @ w)
        if torch.allclose(mean, least_squares, atol=1e-6):
            raise Incorrect("that is the least-squares projection (W^T W)^{-1} W^T (x - mu); "
                            "the posterior mean M^{-1} W^T (x - mu), M = W^T W + sigma2 I, is "
                            "shrunk towards 0 because the noise may explain part of x")
        if not torch.allclose(mean, want_mean, atol=1e-6):
            raise Incorrect("the mean is M^{-1} W^T (x - mu) with M = W^T W + sigma2 I; did "
                            "you subtract the mean?")
        if not torch.allclose(cov, want_cov, atol=1e-8):
            raise Incorrect("the covariance sigma2 (W^T W + sigma2 I)^{-1} is the same for "
                            "every x")
    return "the posterior is Gaussian, its mean a shrunk projection and its covariance the " \
           "same for every x: exact inference, which lecture 07 has to approximate."


@exercise("04.3", "The angle between two subspaces")
def _angle(answer: object) -> str:
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    mix = torch.tensor([[3.0, 1.0], [0.5, -2.0]], dtype=torch.float64)
    cases = [(a, a @ mix, 0.0), (a, torch.randn(6, 2, generator=gen, dtype=torch.float64),
                                 None)]
    e = torch.eye(3, dtype=torch.float64)
    tilted = torch.stack([e[0], math.cos(0.3) * e[1] + math.sin(0.3) * e[2]], 1)
    cases.append((e[:, :2], tilted, math.degrees(0.3)))
    for left, right, want in cases:
        want = subspace_angle(left, right) if want is None else want
        got = _scalar(answer(left, right), "the angle")
        if math.isclose(got, math.radians(want), abs_tol=1e-6) and want > 1:
            raise Incorrect("return degrees, not radians")
        if not math.isclose(got, want, abs_tol=1e-4):
            raise Incorrect(f"expected {want:.4f} degrees, got {got:.4f}; orthonormalise both "
                            "bases first (torch.linalg.qr): the singular values of Qa^T Qb are "
                            "cosines only when the columns are orthonormal")
    return "orthonormalise both bases, then the singular values of Qa^T Qb are the cosines " \
           "of the principal angles; the smallest cosine gives the largest angle."


@exercise("04.4", "The weights of the Student-t E step")
def _t_weights(answer: object) -> str:
    maha = torch.tensor([0.0, 1.0, 5.0, 50.0, 500.0], dtype=torch.float64)
    for df, dim in ((3.0, 2), (10.0, 8), (1.5, 64)):
        want = (df + dim) / (df + maha)
        got = expect_tensor(answer(maha, df, dim), (5,), "(N,)")
        if torch.allclose(got, (df + dim) / (df + maha.sqrt()), atol=1e-8):
            raise Incorrect("maha is already the squared distance; do not take its root")
        if not torch.allclose(got, want, atol=1e-8):
            raise Incorrect(f"df={df}, dim={dim}: the posterior is Gamma((df + dim)/2, "
                            "(df + maha)/2); its mean is shape / rate")
    return "E[u | x] = (nu + D) / (nu + delta): near 1 for typical points, small for far " \
           "ones, which is how the t down-weights outliers."


def _ppca_em_reference(x: torch.Tensor, w: torch.Tensor, sigma2: float, n_steps: int, *,
                       no_posterior_cov: bool = False, old_w_in_sigma2: bool = False,
                       unbiased: bool = False, unbiased_sigma2: bool = False,
                       uncentred: bool = False) -> tuple[torch.Tensor, ...]:
    """PPCA by EM (Tipping & Bishop 1999, eqs. 27-30) in terms of the sample covariance S,
    right or with one of the usual mistakes switched on."""
    n, d = x.shape
    q = w.shape[1]
    centred = x if uncentred else x - x.mean(0)
    s = centred.T @ centred / (n - 1 if unbiased else n)
    eye_q = torch.eye(q, dtype=x.dtype)
    history = []
    for _ in range(n_steps):
        c = w @ w.T + sigma2 * torch.eye(d, dtype=x.dtype)
        history.append(float(-0.5 * (d * math.log(2 * math.pi) + torch.logdet(c)
                                     + torch.trace(torch.linalg.solve(c, s)))))
        m_inv = torch.linalg.inv(w.T @ w + sigma2 * eye_q)
        sum_xz = s @ w @ m_inv  # (1/N) sum_n (x_n - mu) E[z_n]^T
        sum_zz = m_inv @ w.T @ s @ w @ m_inv  # (1/N) sum_n E[z_n] E[z_n]^T
        if not no_posterior_cov:
            sum_zz = sum_zz + sigma2 * m_inv  # E[z z^T] = Cov[z | x] + E[z] E[z]^T
        w_new = sum_xz @ torch.linalg.inv(sum_zz)
        w_used = w if old_w_in_sigma2 else w_new
        sigma2 = float(torch.trace(s) - 2 * torch.trace(w_used.T @ sum_xz)
                       + torch.trace(sum_zz @ w_used.T @ w_used)) / d
        if unbiased_sigma2:  # 1/((N - 1) D) in the sigma^2 update only
            sigma2 = sigma2 * n / (n - 1)
        w = w_new
    return w, torch.tensor(sigma2, dtype=x.dtype), torch.tensor(history, dtype=x.dtype)


@exercise("04.7", "PPCA by EM, whole")
def _ppca_em(answer: object) -> str:
    mistakes = {
        "no_posterior_cov": "E[z z^T] is the posterior covariance sigma^2 M^{-1} *plus* "
                            "E[z] E[z]^T; without it the M step divides by too small a "
                            "second moment, inflates W, and the algorithm is not EM",
        "old_w_in_sigma2": "update sigma^2 with the *new* W (Tipping & Bishop eq. 30 uses "
                           "W_new), not the one the E step used",
        "unbiased": "maximum likelihood uses the sample covariance with 1/N, not 1/(N - 1)",
        "uncentred": "subtract the sample mean first: E[z_n] = M^{-1} W^T (x_n - mu), and the "
                     "M step regresses x_n - mu on E[z_n]; with raw x, W chases the mean",
        "unbiased_sigma2": "the sigma^2 update divides by N D, not (N - 1) D: yours is "
                           "N / (N - 1) times too large",
    }
    for seed, n_steps in ((0, 1), (0, 40), (1, 40)):
        x = _data(seed)
        gen = torch.Generator().manual_seed(10 + seed)
        w0 = torch.randn(x.shape[1], 2, generator=gen, dtype=torch.float64)
        got = expect_tuple(answer(x, w0.clone(), 1.0, n_steps),
                           ("W", "sigma2", "log_likelihoods"))
        w = expect_tensor(got[0], tuple(w0.shape), "(D, q)")
        sigma2 = _scalar(got[1], "sigma2")
        history = expect_tensor(got[2], (n_steps,), "(n_steps,)")
        want_w, want_sigma2, want_history = _ppca_em_reference(x, w0, 1.0, n_steps)

        def agrees(w_ref: torch.Tensor, s_ref: torch.Tensor, h_ref: torch.Tensor,
                   w: torch.Tensor = w, sigma2: float = sigma2,
                   history: torch.Tensor = history) -> bool:
            return (torch.allclose(w, w_ref, atol=1e-6) and math.isclose(
                sigma2, float(s_ref), rel_tol=1e-6) and torch.allclose(history, h_ref,
                                                                       atol=1e-6))

        if agrees(want_w, want_sigma2, want_history):
            continue
        for flag, message in mistakes.items():
            # a mistake in the updates: compare the parameters (the history may be computed
            # either way)
            w_bad, sigma2_bad, _ = _ppca_em_reference(x, w0, 1.0, n_steps, **{flag: True})
            if agrees(w_bad, sigma2_bad, history):
                raise Incorrect(message)
        drops = (history[1:] - history[:-1]) < -1e-9
        if bool(drops.any()):
            raise Incorrect(f"your log-likelihood decreases at step {int(drops.nonzero()[0]) + 1}"
                            ", which EM cannot do: check E[z] = M^{-1} W^T (x - mu), "
                            "M = W^T W + sigma^2 I, and the M step of eqs. 29-30")
        if not torch.allclose(history, want_history, atol=1e-6):
            raise Incorrect("log_likelihoods[t] must be the mean log N(x | mu, W W^T + "
                            "sigma^2 I) of the parameters step t starts from, with mu the "
                            "sample mean; yours differ by up to "
                            f"{float((history - want_history).abs().max()):.3g}")
        raise Incorrect(f"after {n_steps} step(s) W or sigma2 differ from EM's (W by up to "
                        f"{float((w - want_w).abs().max()):.3g}, sigma2 {sigma2:.6g} against "
                        f"{float(want_sigma2):.6g}); return the parameters after the last step")
    # run to convergence: EM's fixed point is the closed form
    x = _data(2)
    w0 = torch.randn(x.shape[1], 2, generator=torch.Generator().manual_seed(3),
                     dtype=torch.float64)
    got = expect_tuple(answer(x, w0, 1.0, 500), ("W", "sigma2", "log_likelihoods"))
    w, sigma2 = expect_tensor(got[0], tuple(w0.shape), "(D, q)"), _scalar(got[1], "sigma2")
    closed = PPCA(2).fit(x)
    if not (torch.allclose(w @ w.T, closed.loadings @ closed.loadings.T, atol=1e-5)
            and math.isclose(sigma2, float(closed.noise_variance_), rel_tol=1e-5)):
        raise Incorrect("after 500 steps your W W^T and sigma2 should equal the closed form")
    return "your EM matches Tipping & Bishop's updates step for step and converges to the " \
           "closed-form solution: sigma2 the mean discarded eigenvalue, W W^T on the top " \
           "eigenvectors."
