"""Checks for the exercises of lecture 03 (mixture models and EM)."""

from __future__ import annotations

import warnings

import torch

from gmlib.exceptions import ConvergenceWarning
from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise
from gmlib.mixtures import GaussianMixture


def _case_1d(seed: int, far: bool = False) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    k = 2 + seed % 3
    weights = torch.rand(k, generator=gen, dtype=torch.float64) + 0.2
    means = 4 * torch.randn(k, generator=gen, dtype=torch.float64)
    variances = 0.2 + torch.rand(k, generator=gen, dtype=torch.float64) * 2
    x = 5 * torch.randn(40, generator=gen, dtype=torch.float64)
    if far:
        x = torch.cat([x, torch.tensor([80.0, -120.0], dtype=torch.float64)])
    return x, weights / weights.sum(), means, variances


def _responsibilities(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                      variances: torch.Tensor) -> torch.Tensor:
    normal = torch.distributions.Normal(means, variances.sqrt())
    return torch.softmax(normal.log_prob(x[:, None]) + weights.log(), dim=1)


@exercise("03.1", "The E step")
def _e_step(answer: object) -> str:
    for seed in range(4):
        x, weights, means, variances = _case_1d(seed, far=seed == 3)
        want = _responsibilities(x, weights, means, variances)
        got = expect_tensor(answer(x, weights, means, variances), tuple(want.shape), "(N, K)")
        if bool(torch.isnan(got).any()):
            raise Incorrect("your responsibilities hold NaN for points far from every "
                            "component: exp underflows to 0/0. Normalise log-joints with "
                            "torch.softmax or logsumexp instead of dividing densities.")
        if not torch.allclose(got.sum(1), torch.ones(len(x), dtype=torch.float64), atol=1e-8):
            raise Incorrect("each row must sum to one: divide the joint p(x, z=k) by p(x)")
        with_std = _responsibilities(x, weights, means, variances**2)  # std sigma^2
        if torch.allclose(got, with_std, atol=1e-6) and not torch.allclose(want, with_std):
            raise Incorrect("you used the variances as standard deviations; the third "
                            "argument holds sigma^2")
        if not torch.allclose(got, want, atol=1e-6):
            raise Incorrect(f"responsibilities off by up to {float((got - want).abs().max()):.3g}"
                            "; r_nk = pi_k N(x_n | mu_k, var_k) / sum_j pi_j N(x_n | mu_j, "
                            "var_j), including the 1/sqrt(2 pi var_k) factor")
    return "the E step is Bayes' rule per point; in log space it survives points where every " \
           "density underflows."


@exercise("03.2", "The M step")
def _m_step(answer: object) -> str:
    for seed in range(3):
        x, weights, means, variances = _case_1d(seed)
        resp = _responsibilities(x, weights, means, variances)
        nk = resp.sum(0)
        want_means = resp.T @ x / nk
        want = (nk / len(x), want_means, (resp * (x[:, None] - want_means) ** 2).sum(0) / nk)
        names = ("weights", "means", "variances")
        got = expect_tuple(answer(x, resp), names)
        got = [expect_tensor(g, tuple(w.shape), "(K,)") for g, w in zip(got, want, strict=True)]
        for name, g, w in zip(names, got, want, strict=True):
            if torch.allclose(g, w, atol=1e-8):
                continue
            if name == "weights" and torch.allclose(g, nk, atol=1e-8):
                raise Incorrect("weights must sum to one: pi_k = N_k / N")
            if name == "variances":
                old = (resp * (x[:, None] - means) ** 2).sum(0) / nk
                if torch.allclose(g, old, atol=1e-8):
                    raise Incorrect("compute the variances around the *new* means")
                if torch.allclose(g, (resp * (x[:, None] - want_means) ** 2).sum(0) / len(x)):
                    raise Incorrect("divide the weighted squared deviations by N_k, the "
                                    "effective number of points of the component, not by N")
            raise Incorrect(f"{name} off by up to {float((g - w).abs().max()):.3g}; each is a "
                            "responsibility-weighted version of the single-Gaussian MLE")
    return "the M step is a weighted Gaussian fit per component: N_k = sum_n r_nk plays the " \
           "role of the number of points."


@exercise("03.3", "A stable mixture log-likelihood")
def _mixture_log_likelihood(answer: object) -> str:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=gen, dtype=torch.float64)
    x[:100] += 4
    model = GaussianMixture(3, random_state=0).fit(x)
    probe = torch.cat([x[:20], torch.tensor([[60.0, -50.0, 40.0]], dtype=torch.float64)])
    want = model.log_prob(probe)
    got = expect_tensor(answer(probe, model.weights_, model.means_, model.covariances_),
                        (len(probe),), "(N,)")
    if not bool(torch.isfinite(got[-1])):
        raise Incorrect("the last point is far from every component: exp(log p(x|k)) "
                        "underflows and log(0) = -inf. Combine the components with "
                        "torch.logsumexp of log pi_k + log N(x | mu_k, Sigma_k).")
    if not torch.allclose(got, want, atol=1e-6, rtol=1e-9):
        raise Incorrect(f"log-likelihoods off by up to {float((got - want).abs().max()):.3g}")
    return "log p(x) = logsumexp_k [log pi_k + log N(x | mu_k, Sigma_k)] is exact and never " \
           "underflows."


@exercise("03.4", "The M step of a Bernoulli mixture")
def _bernoulli_m_step(answer: object) -> str:
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(60, 10, generator=gen) < 0.3).double()
    resp = torch.softmax(torch.randn(60, 4, generator=gen, dtype=torch.float64), 1)
    for alpha in (0.0, 0.5, 2.0):
        nk = resp.sum(0)
        want = (nk / len(x), (resp.T @ x + alpha) / (nk[:, None] + 2 * alpha))
        got = expect_tuple(answer(x, resp, alpha), ("weights", "probs"))
        weights = expect_tensor(got[0], (4,), "(K,)")
        probs = expect_tensor(got[1], (4, 10), "(K, D)")
        if not torch.allclose(weights, want[0], atol=1e-8):
            raise Incorrect("weights: pi_k = N_k / N with N_k = sum_n r_nk")
        if torch.allclose(probs, (resp.T @ x + alpha) / (nk[:, None] + alpha)) and alpha:
            raise Incorrect("a Beta(alpha+1, alpha+1) prior adds alpha pseudo-counts to *both* "
                            "outcomes: divide by N_k + 2 alpha")
        if not torch.allclose(probs, want[1], atol=1e-8):
            raise Incorrect(f"alpha={alpha}: probabilities off by up to "
                            f"{float((probs - want[1]).abs().max()):.3g}; mu_kd = (sum_n r_nk "
                            "x_nd + alpha) / (N_k + 2 alpha)")
    return "the weighted counts plus pseudo-counts: with alpha > 0 no pixel probability is " \
           "exactly 0 or 1, so no test image gets log-likelihood -inf."


def _em_reference(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor,
                  covariances: torch.Tensor, n_steps: int, *, stale_means: bool = False,
                  divide_by_n: bool = False, record_after: bool = False,
                  total: bool = False, wrong_axis: bool = False) -> tuple[torch.Tensor, ...]:
    """Full-covariance EM, right or with one of the usual mistakes switched on (the checker
    compares an answer with each variant to name the mistake)."""
    history = []
    for _ in range(n_steps):
        normal = torch.distributions.MultivariateNormal(means, covariances)
        log_joint = normal.log_prob(x[:, None, :]) + weights.log()  # (N, K)
        log_px = torch.logsumexp(log_joint, dim=1)
        if not record_after:
            history.append(float(log_px.sum() if total else log_px.mean()))
        resp = torch.exp(log_joint - log_px[:, None])
        if wrong_axis:  # each component's column normalised over the points
            resp = torch.softmax(log_joint, dim=0)
        nk = resp.sum(0)
        new_means = resp.T @ x / nk[:, None]
        centre = means if stale_means else new_means
        diff = x[None] - centre[:, None]  # (K, N, D)
        scatter = torch.einsum("nk,knd,kne->kde", resp, diff, diff)
        covariances = scatter / (len(x) if divide_by_n else nk[:, None, None])
        # with columns summing to one, sum_k N_k = K, not N: the learner normalises by the sum
        weights, means = (nk / nk.sum() if wrong_axis else nk / len(x)), new_means
        if record_after:
            normal = torch.distributions.MultivariateNormal(means, covariances)
            log_px = torch.logsumexp(normal.log_prob(x[:, None, :]) + weights.log(), dim=1)
            history.append(float(log_px.sum() if total else log_px.mean()))
    return weights, means, covariances, torch.tensor(history, dtype=torch.float64)


def _em_case(seed: int) -> tuple[torch.Tensor, ...]:
    """Three 2-D clusters and a deliberately poor start: two means in one cluster."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]], dtype=torch.float64)
    shear = torch.tensor([[1.0, 0.0], [0.6, 0.5]], dtype=torch.float64)
    x = torch.cat([c + torch.randn(50, 2, generator=gen, dtype=torch.float64) @ shear
                   for c in centres])
    weights = torch.full((3,), 1 / 3, dtype=torch.float64)
    means = torch.tensor([[-0.5, 0.0], [0.5, 0.2], [2.0, 3.0]], dtype=torch.float64)
    covariances = torch.eye(2, dtype=torch.float64).repeat(3, 1, 1)
    return x, weights, means, covariances


def _all_close(got: list[torch.Tensor], want: tuple[torch.Tensor, ...]) -> bool:
    return all(torch.allclose(g, w, atol=1e-6) for g, w in zip(got, want, strict=True))


@exercise("03.7", "EM for a Gaussian mixture, whole")
def _em_gaussian_mixture(answer: object) -> str:
    # one step first: a wrong M step is named before it compounds into a singular covariance
    for seed, n_steps in ((0, 1), (0, 25), (1, 25)):
        x, weights, means, covariances = _em_case(seed)
        got = expect_tuple(answer(x, weights.clone(), means.clone(), covariances.clone(),
                                  n_steps),
                           ("weights", "means", "covariances", "log_likelihoods"))
        got = [expect_tensor(g, s, w) for g, s, w in zip(
            got, [(3,), (3, 2), (3, 2, 2), (n_steps,)],
            ["(K,)", "(K, D)", "(K, D, D)", "(n_steps,)"], strict=True)]
        want = _em_reference(x, weights, means, covariances, n_steps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            library = GaussianMixture(3, reg_covar=0.0, max_iter=n_steps, tol=0.0,
                                      weights_init=weights, means_init=means,
                                      precisions_init=torch.linalg.inv(covariances)).fit(x)
        library_history = torch.tensor(library.lower_bounds_, dtype=torch.float64)
        assert torch.allclose(want[3], library_history, atol=1e-9), "reference != library"

        if _all_close(got, want):
            continue
        mistakes = {
            "stale_means": "your covariances are computed around the *old* means; compute the "
                           "new means first and centre the scatter on them",
            "divide_by_n": "divide each component's weighted scatter by N_k = sum_n r_nk, not "
                           "by N",
            "record_after": "record the log-likelihood of the parameters the E step uses, "
                            "before the M step: log_likelihoods[0] is the start's, so it "
                            "matches GaussianMixture.lower_bounds_",
            "total": "record the *mean* log-likelihood per example (divide the sum by N), as "
                     "lower_bounds_ does",
            "wrong_axis": "your responsibilities are normalised over the points (each "
                          "component's column sums to one); normalise each point's row over "
                          "the K components: r_nk = pi_k N(x_n | k) / sum_j pi_j N(x_n | j)",
        }
        for flag, message in mistakes.items():
            try:
                variant = _em_reference(x, weights, means, covariances, n_steps, **{flag: True})
            except ValueError:  # this mistake makes a covariance singular within n_steps
                continue
            if _all_close(got, variant):
                raise Incorrect(message)
        history = got[3]
        drops = (history[1:] - history[:-1]) < -1e-9
        if bool(drops.any()):
            step = int(drops.nonzero()[0]) + 1
            raise Incorrect(f"your log-likelihood decreases at step {step}, which an EM step "
                            "cannot do: one of your steps is not the exact E step or M step "
                            "(are the responsibilities normalised per point? is each "
                            "parameter the weighted maximum-likelihood estimate?)")
        if not torch.allclose(history, library_history, atol=1e-6):
            gap = float((history - library_history).abs().max())
            raise Incorrect(f"log-likelihoods differ from GaussianMixture.lower_bounds_ by up "
                            f"to {gap:.3g} from the same start")
        names = ("weights", "means", "covariances")
        for name, g, w in zip(names, got[:3], want[:3], strict=True):
            if not torch.allclose(g, w, atol=1e-6):
                raise Incorrect(f"after {n_steps} step(s) your {name} are off by up to "
                                f"{float((g - w).abs().max()):.3g}: normalise each point's "
                                "responsibilities over the K components (softmax over dim 1), "
                                "make every parameter the responsibility-weighted MLE, and "
                                "return the parameters after the last M step")
    return "from the same start your EM and GaussianMixture agree to 1e-6 at every step, and " \
           "the likelihood never went down."
