"""Each checker of lecture 07 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _kl(mu, log_var):
    return 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(-1)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda m, lv: 2 * _kl(m, lv), "factor 1/2"),
    (lambda m, lv: _kl(m, 2 * lv), "log *variance*"),
    (lambda m, lv: _kl(m, lv) + 0.5 * m.shape[1], "off by L/2"),
    (lambda m, lv: _kl(m, lv).sum(), "shape (B,)"),
])
def test_gaussian_kl_mistakes(answer, hint):
    verdict = _verdict("07.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("07.1", _kl).passed


def _estimates(mu, sigma, eps):
    z = mu + sigma * eps
    return 2 * z, z**2 * (z - mu) / sigma**2


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda m, s, e: (torch.full_like(e, 2 * m), _estimates(m, s, e)[1]), "not the exact"),
    (lambda m, s, e: (2 * (m + s * e), (m + s * e) ** 2 * s * e), "divide by sigma^2"),
    (lambda m, s, e: 2 * (m + s * e), "return a tuple"),
])
def test_gradient_estimator_mistakes(answer, hint):
    verdict = _verdict("07.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    passed = _verdict("07.2", _estimates)
    assert passed.passed and "times the variance" in passed.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda w: w.exp().mean(0).log(), "underflows"),
    (lambda w: w.mean(0), "ELBO estimate"),
    (lambda w: torch.logsumexp(w, 0), "subtract log k"),
])
def test_iwae_mistakes(answer, hint):
    verdict = _verdict("07.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("07.3", lambda w: torch.logsumexp(w, 0) - math.log(w.shape[0])).passed


def _elbo(log_prior, log_lik, q_logits):
    log_q = torch.log_softmax(q_logits, 1)
    joint = (log_lik + log_prior[:, None]).T
    return (log_q.exp() * (joint - log_q)).sum(1)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda p, ll, q: torch.logsumexp(ll + p[:, None], 0), "log p(x) itself"),
    (lambda p, ll, q: (torch.softmax(q, 1) * (ll + p[:, None]).T).sum(1), "entropy term"),
    (lambda p, ll, q: (q.exp() * ((ll + p[:, None]).T - q)).sum(1), "unnormalised"),
])
def test_discrete_elbo_mistakes(answer, hint):
    verdict = _verdict("07.4", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("07.4", _elbo).passed


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda m, t: m.mean(0).abs() > t, "use the variance"),
    (lambda m, t: (m.var(0) > t).sum(), "bool tensor of shape (L,)"),
    (lambda m, t: m.var(1) > t, "bool tensor of shape (L,)"),
])
def test_active_units_mistakes(answer, hint):
    verdict = _verdict("07.5", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("07.5", lambda m, t: m.var(0) > t).passed


def test_kl_minus_one_outside_the_sum_is_named():
    def outside(mu, log_var):
        return 0.5 * ((mu**2 + log_var.exp() - log_var).sum(1) - 1)

    verdict = _verdict("07.1", outside)
    assert verdict.status == "incorrect" and "not once outside it" in verdict.message


def _vae_loss(parts, x):
    """A learner's -ELBO, written apart from the checker's reference."""
    q = parts.encode(x)
    z = q.rsample()
    return torch.distributions.kl_divergence(q, parts.prior()) - parts.decode(z).log_prob(x)


def _vae_mistake(**flags):
    from gmlib.exercises.lecture07 import _negative_elbo_reference
    return lambda parts, x: _negative_elbo_reference(parts, x, **flags)


@pytest.mark.parametrize(("answer", "hint"), [
    (_vae_loss, None),
    (_vae_mistake(monte_carlo_kl=True), None),
    (_vae_mistake(sample=True), "q.rsample()"),
    (_vae_mistake(no_kl=True), "KL term is missing"),
    (_vae_mistake(per_pixel=True), "do not average it"),
    (lambda parts, x: -_vae_loss(parts, x), "that is the ELBO"),
    (lambda parts, x: _vae_loss(parts, x).mean(), "one value per image"),
])
def test_vae_loss_exercise_diagnoses(answer, hint):
    assert_verdict("07.7", answer, hint)


def test_vae_loss_gradient_mistakes_are_named():
    def detached_kl(parts, x):
        q = parts.encode(x)
        z = q.rsample()
        fixed = z.detach()
        kl = q.log_prob(fixed) - parts.prior().log_prob(fixed)
        return kl - parts.decode(z).log_prob(x)

    def sampled_everything(parts, x):
        q = parts.encode(x)
        z = q.sample()
        return q.log_prob(z) - parts.prior().log_prob(z) - parts.decode(z).log_prob(x)

    assert_verdict("07.7", detached_kl, "not the reparameterised gradient")
    assert_verdict("07.7", sampled_everything, "q.rsample()")
