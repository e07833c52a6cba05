"""Checks for the exercises of lecture 07 (autoencoders and variational autoencoders)."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    if torch.allclose(got, want + 1.0, atol=1e-8):
        raise Incorrect("off by (L - 1)/2: subtract the 1 inside the sum, once per latent "
                        "dimension, not once outside it")
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


class _VAEParts:
    """What exercise 07.7 may use: the encoder, the decoder and the prior, nothing else."""

    def __init__(self, model: torch.nn.Module) -> None:
        self._model = model

    def encode(self, x: torch.Tensor) -> torch.distributions.Distribution:
        """q(z | x): a diagonal Gaussian over z, batch shape (B,)."""
        return self._model.encode(x)

    def decode(self, z: torch.Tensor) -> torch.distributions.Distribution:
        """p(x | z): a distribution over images, batch shape (B,)."""
        return self._model.decode(z)

    def prior(self) -> torch.distributions.Distribution:
        """p(z) = N(0, I)."""
        return self._model.prior()


def _negative_elbo_reference(parts: _VAEParts, x: torch.Tensor, *, sample: bool = False,
                             no_kl: bool = False, monte_carlo_kl: bool = False,
                             per_pixel: bool = False) -> torch.Tensor:
    """-ELBO per example with one reparameterised sample; the flags are the usual mistakes."""
    q = parts.encode(x)
    z = q.sample() if sample else q.rsample()
    p = parts.decode(z)
    reconstruction = p.log_prob(x)
    if per_pixel:
        reconstruction = p.base_dist.log_prob(x).flatten(1).mean(1)
    if no_kl:
        return -reconstruction
    prior = parts.prior()
    kl = q.log_prob(z) - prior.log_prob(z) if monte_carlo_kl else kl_divergence(q, prior)
    return -(reconstruction - kl)


def _vae_case(seed: int) -> tuple[torch.nn.Module, torch.Tensor]:
    from gmlib.data import digits
    from gmlib.vae import build_vae
    torch.manual_seed(seed)
    model = build_vae((1, 8, 8), likelihood="logistic", n_levels=17, latent_dim=4,
                      hidden=(32,)).double()
    return model, digits("train", dtype=torch.float64)[:24]


def _same_draw(answer: object, parts: _VAEParts, x: torch.Tensor, seed: int,
               **flags: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The answer and the reference (with `flags`), each after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    got = answer(parts, x)
    torch.manual_seed(seed)
    return got, _negative_elbo_reference(parts, x, **flags)


def _encoder_gradient(model: torch.nn.Module, loss: object, x: torch.Tensor) -> torch.Tensor:
    """The encoder's gradient of the batch mean of `loss(parts, x)`, one fixed draw."""
    model.zero_grad()
    torch.manual_seed(4)
    loss(_VAEParts(model), x).mean().backward()
    grads = [p.grad.flatten() if p.grad is not None else torch.zeros_like(p).flatten()
             for p in model.encoder.parameters()]
    model.zero_grad()
    return torch.cat(grads)


@exercise("07.7", "The VAE's loss, whole")
def _vae_loss(answer: object) -> str:
    model, x = _vae_case(7)
    parts = _VAEParts(model)
    torch.manual_seed(3)
    got = answer(parts, x)
    if isinstance(got, torch.Tensor) and got.dim() == 0:
        raise Incorrect("return one value per image, shape (B,); average over the batch only "
                        "in the training loop")
    expect_tensor(got, (len(x),), "(B,)")
    for flags in ({}, {"monte_carlo_kl": True}):
        answer_value, want = _same_draw(answer, parts, x, 3, **flags)
        if torch.allclose(answer_value.detach(), want.detach(), atol=1e-6):
            break
    else:
        mistakes = {
            "no_kl": "the KL term is missing: -ELBO = -E_q[log p(x | z)] + KL(q(z | x) || p(z))",
            "per_pixel": "sum the log-likelihood over the pixels (p(x | z).log_prob(x) does), "
                         "do not average it: the ELBO bounds log p of the whole image",
        }
        for flag, message in mistakes.items():
            answer_value, want = _same_draw(answer, parts, x, 3, **{flag: True})
            if torch.allclose(answer_value.detach(), want.detach(), atol=1e-6):
                raise Incorrect(message)
        answer_value, want = _same_draw(answer, parts, x, 3)
        if torch.allclose(answer_value.detach(), -want.detach(), atol=1e-6):
            raise Incorrect("that is the ELBO; return its negative, the loss to minimise")
        raise Incorrect("with the same random numbers your values differ from -(E_q[log p(x|z)] "
                        "- KL) by up to "
                        f"{float((answer_value - want).abs().max()):.3g}: encode, draw one "
                        "z = q.rsample(), score x under decode(z), subtract the KL")
    # the gradient, for one fixed draw, must be the reparameterised one (with the KL in
    # closed form or as log q(z) - log p(z) at the same z)
    def variant(**flags: bool) -> Callable[[_VAEParts, torch.Tensor], torch.Tensor]:
        return lambda parts, x: _negative_elbo_reference(parts, x, **flags)

    grads = {name: _encoder_gradient(model, fn, x) for name, fn in (
        ("answer", answer), ("closed", variant()), ("sampled", variant(monte_carlo_kl=True)),
        ("closed, sample()", variant(sample=True)),
        ("sampled, sample()", variant(sample=True, monte_carlo_kl=True)))}
    if not any(torch.allclose(grads["answer"], grads[name], atol=1e-8)
               for name in ("closed", "sampled")):
        if any(torch.allclose(grads["answer"], grads[name], atol=1e-8)
               for name in ("closed, sample()", "sampled, sample()")):
            raise Incorrect("the gradient does not flow through z: draw it with q.rsample() "
                            "(z = mu + sigma * eps), not q.sample(), which cuts the graph "
                            "between the decoder and the encoder")
        raise Incorrect("right values, but not the reparameterised gradient: keep z in the "
                        "graph (no .detach(), no torch.no_grad()) in both terms")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        before = float(_negative_elbo_reference(parts, x).mean())
    for step in range(60):
        optimiser.zero_grad()
        torch.manual_seed(100 + step)
        answer(parts, x).mean().backward()
        optimiser.step()
    torch.manual_seed(5)
    with torch.no_grad():
        after = float(torch.stack([_negative_elbo_reference(parts, x)
                                   for _ in range(20)]).mean())
    if not after < before - 5:
        raise Incorrect(f"60 Adam steps on your loss moved -ELBO only from {before:.1f} to "
                        f"{after:.1f} nats: check the sign and that both terms depend on the "
                        "parameters")
    return f"one reparameterised sample per image gives an unbiased -ELBO whose gradient " \
           f"trains encoder and decoder together: 60 steps took it from {before:.1f} to " \
           f"{after:.1f} nats on these 24 digits."
