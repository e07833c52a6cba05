"""Each checker of lecture 03 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check
from gmlib.exercises.lecture03 import _case_1d, _em_reference, _responsibilities

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _naive_e_step(x, weights, means, variances):
    dens = weights * torch.exp(-0.5 * (x[:, None] - means) ** 2 / variances) / torch.sqrt(
        2 * math.pi * variances)
    return dens / dens.sum(1, keepdim=True)


def _std_e_step(x, weights, means, variances):
    return _naive_e_step(x, weights, means, variances**2)  # Normal(means, variances): std = sigma^2


def _unnormalised_e_step(x, weights, means, variances):
    return _naive_e_step(x, weights, means, variances) * 2


@pytest.mark.parametrize(("answer", "hint"), [
    (_naive_e_step, "underflows"),
    (_std_e_step, "standard deviations"),
    (_unnormalised_e_step, "sum to one"),
])
def test_e_step_mistakes(answer, hint):
    verdict = _verdict("03.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _m_step(x, resp, *, divide_by_n=False, old_means=None, raw_weights=False):
    nk = resp.sum(0)
    means = resp.T @ x / nk
    centre = means if old_means is None else old_means
    variances = (resp * (x[:, None] - centre) ** 2).sum(0) / (len(x) if divide_by_n else nk)
    return (nk if raw_weights else nk / len(x)), means, variances


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, r: _m_step(x, r, divide_by_n=True), "not by N"),
    (lambda x, r: _m_step(x, r, raw_weights=True), "sum to one"),
    (lambda x, r: _m_step(x, r)[:2], "tuple"),
])
def test_m_step_mistakes(answer, hint):
    verdict = _verdict("03.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _naive_log_likelihood(x, weights, means, covariances):
    comp = torch.distributions.MultivariateNormal(means, covariances)
    return torch.log((comp.log_prob(x[:, None, :]).exp() * weights).sum(1))


def test_log_likelihood_underflow_is_diagnosed():
    verdict = _verdict("03.3", _naive_log_likelihood)
    assert verdict.status == "incorrect" and "logsumexp" in verdict.message


def test_bernoulli_m_step_single_pseudo_count():
    def one_sided(x, resp, alpha):
        nk = resp.sum(0)
        return nk / len(x), (resp.T @ x + alpha) / (nk[:, None] + alpha)

    verdict = _verdict("03.4", one_sided)
    assert verdict.status == "incorrect" and "N_k + 2 alpha" in verdict.message


def test_m_step_stale_means_is_diagnosed():
    def stale(x, resp):
        # centre on the means that produced resp: find the checker's case they came from
        for seed in range(3):
            case = _case_1d(seed)
            if torch.allclose(_responsibilities(*case), resp):
                return _m_step(x, resp, old_means=case[2])
        raise AssertionError("unknown case")

    verdict = _verdict("03.2", stale)
    assert verdict.status == "incorrect" and "*new* means" in verdict.message


def _em_solution(x, weights, means, covariances, n_steps):
    history = []
    for _ in range(n_steps):
        normal = torch.distributions.MultivariateNormal(means, covariances)
        log_joint = normal.log_prob(x[:, None, :]) + weights.log()
        log_px = torch.logsumexp(log_joint, 1)
        history.append(float(log_px.mean()))
        resp = (log_joint - log_px[:, None]).exp()
        nk = resp.sum(0)
        means = resp.T @ x / nk[:, None]
        diff = x[None] - means[:, None]
        covariances = torch.einsum("nk,knd,kne->kde", resp, diff, diff) / nk[:, None, None]
        weights = nk / len(x)
    return weights, means, covariances, torch.tensor(history)


def _em_wrong_axis(x, weights, means, covariances, n_steps):
    """Responsibilities normalised over the points instead of over the components."""
    history = []
    for _ in range(n_steps):
        normal = torch.distributions.MultivariateNormal(means, covariances)
        log_joint = normal.log_prob(x[:, None, :]) + weights.log()
        history.append(float(torch.logsumexp(log_joint, 1).mean()))
        resp = torch.softmax(log_joint, 0)
        nk = resp.sum(0)
        means = resp.T @ x / nk[:, None]
        diff = x[None] - means[:, None]
        covariances = torch.einsum("nk,knd,kne->kde", resp, diff, diff) / nk[:, None, None]
        weights = nk / nk.sum()
    return weights, means, covariances, torch.tensor(history)


def _em_variant(flag):
    return lambda *args: _em_reference(*args, **{flag: True})


@pytest.mark.parametrize(("answer", "hint"), [
    (_em_solution, None),
    (_em_variant("stale_means"), "*old* means"),
    (_em_variant("divide_by_n"), "not by N"),
    (_em_variant("record_after"), "before the M step"),
    (_em_variant("total"), "*mean* log-likelihood"),
    (_em_wrong_axis, "normalised over the points"),
    (_em_variant("wrong_axis"), "normalised over the points"),
    (lambda *args: _em_solution(*args)[:3], "tuple"),
])
def test_em_exercise_diagnoses(answer, hint):
    assert_verdict("03.7", answer, hint)
