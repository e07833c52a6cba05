"""Checks for the exercises of lecture 07 (autoencoders and variational autoencoders)."""

from __future__ import annotations

import math

import torch
from torch.distributions import Independent, Normal, kl_divergence

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@exercise("07.1", "The KL term in closed form")
def _gaussian_kl(answer: object) -> str:
    gen = _gen()
    mu = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    log_var = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    got = expect_tensor(answer(mu, log_var), (6,), "(B,)")
    q = Independent(Normal(mu, (0.5 * log_var).exp()), 1)
    prior = Independent(Normal(torch.zeros(3, dtype=torch.float64),
                               torch.ones(3, dtype=torch.float64)), 1)
    want = kl_divergence(q, prior)
    if torch.allclose(got, want, atol=1e-8):
        return "KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2): zero only when q = N(0, I)."
    if torch.allclose(got, 2 * want, atol=1e-8):
        raise Incorrect("twice the KL: the closed form has a factor 1/2 in front")
    as_log_std = kl_divergence(Independent(Normal(mu, log_var.exp()), 1), prior)
    if torch.allclose(got, as_log_std, atol=1e-8):
        raise Incorrect("log_var is the log *variance*: sigma = exp(log_var / 2), so "
                        "sigma^2 = exp(log_var)")
    if torch.allclose(got, want + 1.5, atol=1e-8) or torch.allclose(got, want - 1.5, atol=1e-8):
        raise Incorrect("off by L/2: the -1 inside the sum is once per latent dimension")
    raise Incorrect("KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - "
                    "log sigma_j^2), summed over the latent dimensions of each row")


@exercise("07.2", "Two gradient estimators")
def _estimators(answer: object) -> str:
    gen = _gen()
    mu, sigma = 0.7, 2.0
    eps = torch.randn(20_000, generator=gen, dtype=torch.float64)
    reparam, score = expect_tuple(answer(mu, sigma, eps), ("reparam", "score"))
    reparam = expect_tensor(reparam, (20_000,), "(n,)")
    score = expect_tensor(score, (20_000,), "(n,)")
    z = mu + sigma * eps
    if not torch.allclose(reparam, 2 * z, atol=1e-8):
        if torch.allclose(reparam, torch.full_like(z, 2 * mu)):
            raise Incorrect("the reparameterised estimate differentiates f(mu + sigma eps) "
                            "for each eps: 2 (mu + sigma eps), not the exact gradient 2 mu")
        raise Incorrect("with z = mu + sigma eps, d f(z) / d mu = f'(z) dz/dmu = 2 z")
    want = z.square() * (z - mu) / sigma**2
    if not torch.allclose(score, want, atol=1e-8):
        if torch.allclose(score, z.square() * (z - mu), atol=1e-8):
            raise Incorrect("the score of N(mu, sigma^2) is (z - mu) / sigma^2: divide by "
                            "sigma^2")
        raise Incorrect("the score-function estimate is f(z) d log q(z) / d mu = z^2 (z - mu) "
                        "/ sigma^2")
    ratio = float(score.var() / reparam.var())
    return (f"both average to 2 mu = {2 * mu}; the score-function estimate has {ratio:.0f} "
            "times the variance here.")


@exercise("07.3", "The importance-weighted bound")
def _iwae(answer: object) -> str:
    gen = _gen()
    log_w = torch.randn(50, 4, generator=gen, dtype=torch.float64) * 3 - 1000.0
    got = expect_tensor(answer(log_w), (4,), "(B,)")
    want = torch.logsumexp(log_w, 0) - math.log(50)
    if torch.allclose(got, want, atol=1e-8):
        return "log (1/k) sum_j w_j, computed with logsumexp so that w = e^-1000 is fine."
    if not bool(torch.isfinite(got).all()):
        raise Incorrect("exp(-1000) underflows to 0: use torch.logsumexp, which subtracts "
                        "the maximum first")
    if torch.allclose(got, log_w.mean(0), atol=1e-8):
        raise Incorrect("the mean of log w is the ELBO estimate; the bound is the log of the "
                        "mean of w")
    if torch.allclose(got, want + math.log(50), atol=1e-8):
        raise Incorrect("divide by k inside the log: subtract log k")
    raise Incorrect("return logsumexp over the k samples (dim 0) minus log k, per example")


@exercise("07.4", "An ELBO by enumeration")
def _discrete_elbo(answer: object) -> str:
    gen = _gen()
    log_prior = torch.log_softmax(torch.randn(3, generator=gen, dtype=torch.float64), 0)
    log_lik = torch.randn(3, 5, generator=gen, dtype=torch.float64) * 2 - 10
    q_logits = torch.randn(5, 3, generator=gen, dtype=torch.float64) + 4.0  # unnormalised
    got = expect_tensor(answer(log_prior, log_lik, q_logits), (5,), "(B,)")
    log_q = torch.log_softmax(q_logits, 1)
    joint = (log_lik + log_prior[:, None]).T  # (B, S)
    want = (log_q.exp() * (joint - log_q)).sum(1)
    if torch.allclose(got, want, atol=1e-8):
        gap = float((torch.logsumexp(joint, 1) - want).mean())
        return (f"the ELBO sits {gap:.3f} nats below log p(x) on average: the KL from q to "
                "the exact posterior.")
    if torch.allclose(got, torch.logsumexp(joint, 1), atol=1e-8):
        raise Incorrect("that is log p(x) itself; the ELBO depends on q: sum_z q(z|x) [log "
                        "p(x, z) - log q(z|x)]")
    if torch.allclose(got, (log_q.exp() * joint).sum(1), atol=1e-8):
        raise Incorrect("the entropy term is missing: subtract log q(z|x) inside the sum")
    raw = (q_logits.exp() * (joint - q_logits)).sum(1)
    if torch.allclose(got, raw, atol=1e-8):
        raise Incorrect("q_logits are unnormalised: q = softmax(q_logits) per row")
    raise Incorrect("ELBO(x) = sum_z q(z|x) [log p(z) + log p(x|z) - log q(z|x)] with q = "
                    "softmax(q_logits); note log_lik is indexed (z, x)")


@exercise("07.5", "Active units")
def _active(answer: object) -> str:
    gen = _gen()
    means = torch.randn(200, 5, generator=gen, dtype=torch.float64)
    means[:, 1] = 3.0 + 1e-3 * means[:, 1]  # far from 0 but constant: inactive
    means[:, 3] *= 0.05  # variance 0.0025: inactive at threshold 0.01
    got = answer(means, 0.01)
    if not isinstance(got, torch.Tensor) or got.dtype != torch.bool or got.shape != (5,):
        found = (f"{got.dtype} of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor)
                 else type(got).__name__)
        raise Incorrect(f"return a bool tensor of shape (L,) = (5,); got {found}")
    want = torch.tensor([True, False, True, False, True])
    if torch.equal(got, want):
        return "an active unit's posterior mean moves with x; a collapsed one ignores it."
    if torch.equal(got, torch.tensor([True, True, True, False, True])) or bool(got[1]):
        raise Incorrect("a unit whose mean is far from 0 but the same for every x carries no "
                        "information: use the variance over examples, not the mean")
    raise Incorrect("a unit is active when the variance over examples (dim 0) of its "
                    "posterior mean exceeds the threshold")
