"""Each checker of lecture 04 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check
from gmlib.exercises.lecture04 import _ppca_em_reference

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _closed_form(x, q, *, unbiased=False, unscaled=False, ascending=False):
    mean = x.mean(0)
    cov = (x - mean).T @ (x - mean) / (len(x) - 1 if unbiased else len(x))
    values, vectors = torch.linalg.eigh(cov)
    if not ascending:
        values, vectors = values.flip(0), vectors.flip(1)
    sigma2 = values[q:].mean()
    scale = values[:q].sqrt() if unscaled else (values[:q] - sigma2).sqrt()
    return mean, vectors[:, :q] * scale, sigma2


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, q: _closed_form(x, q, unbiased=True), "1/N"),
    (lambda x, q: _closed_form(x, q, unscaled=True), "wrong lengths"),
    (lambda x, q: _closed_form(x, q, ascending=True), "smallest"),
])
def test_closed_form_mistakes(answer, hint):
    verdict = _verdict("04.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def _posterior_without_sigma(x, mean, w, sigma2):
    m_inv = torch.linalg.inv(w.T @ w + sigma2 * torch.eye(w.shape[1], dtype=w.dtype))
    return (x - mean) @ w @ m_inv, m_inv


def test_posterior_covariance_mistake():
    verdict = _verdict("04.2", _posterior_without_sigma)
    assert verdict.status == "incorrect" and "sigma2 M^{-1}" in verdict.message


def test_posterior_least_squares_mistake():
    def least_squares(x, mean, w, sigma2):
        m_inv = torch.linalg.inv(w.T @ w + sigma2 * torch.eye(w.shape[1], dtype=w.dtype))
        return (x - mean) @ w @ torch.linalg.inv(w.T @ w), sigma2 * m_inv

    verdict = _verdict("04.2", least_squares)
    assert verdict.status == "incorrect" and "least-squares projection" in verdict.message


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda a, b: math.acos(min(1.0, float(torch.linalg.svdvals(
        torch.linalg.qr(a)[0].T @ torch.linalg.qr(b)[0]).min()))), "radians"),
    (lambda a, b: math.degrees(math.acos(min(1.0, float(torch.linalg.svdvals(
        a.T @ b).min())))), "orthonormalise"),
])
def test_angle_mistakes(answer, hint):
    verdict = _verdict("04.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message


def test_t_weights_root_mistake():
    verdict = _verdict("04.4", lambda maha, df, dim: (df + dim) / (df + maha.sqrt()))
    assert verdict.status == "incorrect" and "squared distance" in verdict.message


def _ppca_em_solution(x, w, sigma2, n_steps, sigma2_divisor=None):
    n, d = x.shape
    divisor = n * d if sigma2_divisor is None else sigma2_divisor(n, d)
    q = w.shape[1]
    centred, history = x - x.mean(0), []
    for _ in range(n_steps):
        cov = w @ w.T + sigma2 * torch.eye(d, dtype=x.dtype)
        normal = torch.distributions.MultivariateNormal(x.mean(0), cov)
        history.append(float(normal.log_prob(x).mean()))
        m_inv = torch.linalg.inv(w.T @ w + sigma2 * torch.eye(q, dtype=x.dtype))
        ez = centred @ w @ m_inv
        ezz = n * sigma2 * m_inv + ez.T @ ez
        w_new = centred.T @ ez @ torch.linalg.inv(ezz)
        sigma2 = float(((centred**2).sum() - 2 * (ez @ w_new.T * centred).sum()
                        + torch.trace(ezz @ w_new.T @ w_new)) / divisor)
        w = w_new
    return w, sigma2, torch.tensor(history)


def _ppca_variant(flag):
    return lambda *args: _ppca_em_reference(*args, **{flag: True})


@pytest.mark.parametrize(("answer", "hint"), [
    (_ppca_em_solution, None),
    (_ppca_variant("no_posterior_cov"), "posterior covariance"),
    (_ppca_variant("old_w_in_sigma2"), "*new* W"),
    (_ppca_variant("unbiased"), "1/(N - 1)"),
    (_ppca_variant("uncentred"), "subtract the sample mean"),
    # the data form with (N - 1) D in the sigma^2 update only, its history computed directly
    (lambda *args: _ppca_em_solution(*args, sigma2_divisor=lambda n, d: (n - 1) * d),
     "N / (N - 1) times"),
    (lambda *args: _ppca_em_solution(*args)[:2], "tuple"),
])
def test_ppca_em_exercise_diagnoses(answer, hint):
    assert_verdict("04.7", answer, hint)
