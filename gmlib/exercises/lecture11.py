"""Checks for the exercises of lecture 11 (diffusion models and flow matching)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@exercise("11.1", "Sampling the forward process")
def _q_sample(answer: object) -> str:
    x0 = torch.rand(30, 4, generator=_gen(), dtype=F64) * 2 - 1
    noise = torch.randn(30, 4, generator=_gen(1), dtype=F64)
    a = 0.3
    got = expect_tensor(answer(x0, a, noise), (30, 4), "(n, D), like x0")
    want = math.sqrt(a) * x0 + math.sqrt(1 - a) * noise
    if torch.allclose(got, want, atol=1e-10):
        return ("x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps: one draw of q(x_t | x0), "
                "with no need to run the t steps one by one.")
    if torch.allclose(got, a * x0 + (1 - a) * noise, atol=1e-10):
        raise Incorrect("alpha_bar and 1 - alpha_bar are the mean's factor squared and the "
                        "variance: multiply by their square roots")
    if torch.allclose(got, math.sqrt(1 - a) * x0 + math.sqrt(a) * noise, atol=1e-10):
        raise Incorrect("the factors are swapped: alpha_bar is the share of signal that is "
                        "left, so it multiplies x0")
    raise Incorrect("x_t = sqrt(alpha_bar) * x0 + sqrt(1 - alpha_bar) * noise")


@exercise("11.2", "The forward-process posterior mean")
def _posterior_mean(answer: object) -> str:
    x0 = torch.rand(20, 3, generator=_gen(), dtype=F64) * 2 - 1
    x_t = torch.randn(20, 3, generator=_gen(1), dtype=F64)
    beta, a_prev = 0.02, 0.6
    a = a_prev * (1 - beta)
    got = expect_tensor(answer(x0, x_t, beta, a, a_prev), (20, 3), "(n, D)")
    c0 = math.sqrt(a_prev) * beta / (1 - a)
    ct = math.sqrt(1 - beta) * (1 - a_prev) / (1 - a)
    want = c0 * x0 + ct * x_t
    if torch.allclose(got, want, atol=1e-10):
        return ("mu = sqrt(a_{t-1}) beta_t / (1 - a_t) x0 + sqrt(alpha_t) (1 - a_{t-1}) / "
                "(1 - a_t) x_t: a precision-weighted average of what x0 and x_t say about "
                "x_{t-1}.")
    if torch.allclose(got, ct * x0 + c0 * x_t, atol=1e-10):
        raise Incorrect("the two coefficients are swapped: x_t's weight grows with "
                        "1 - a_{t-1}, the prior's uncertainty about x_{t-1}")
    if torch.allclose(got, a_prev * beta / (1 - a) * x0 + (1 - beta) * (1 - a_prev) / (1 - a)
                      * x_t, atol=1e-10):
        raise Incorrect("take square roots of a_{t-1} and alpha_t = 1 - beta_t: they scale "
                        "means, not variances")
    raise Incorrect("multiply q(x_t | x_{t-1}) by q(x_{t-1} | x0) and complete the square")


@exercise("11.3", "A deterministic DDIM step")
def _ddim_step(answer: object) -> str:
    x_t = torch.randn(25, 2, generator=_gen(), dtype=F64)
    eps = torch.randn(25, 2, generator=_gen(1), dtype=F64)
    a_t, a_s = 0.2, 0.7
    got = expect_tensor(answer(x_t, eps, a_t, a_s), (25, 2), "(n, D)")
    x0 = (x_t - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
    want = math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * eps
    if torch.allclose(got, want, atol=1e-10):
        return ("x_s = sqrt(a_s) x0_hat + sqrt(1 - a_s) eps_hat: re-noise the denoiser's x0 "
                "guess to level s with the *predicted* noise, so no randomness is added.")
    if torch.allclose(got, math.sqrt(a_s) * x_t + math.sqrt(1 - a_s) * eps, atol=1e-10):
        raise Incorrect("first turn x_t into the clean-data guess x0_hat = (x_t - sqrt(1 - a_t) "
                        "eps_hat) / sqrt(a_t)")
    if torch.allclose(got, x0, atol=1e-10):
        raise Incorrect("that is x0_hat; the step goes to noise level s, not to s = 0")
    raise Incorrect("x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t); then "
                    "x_s = sqrt(a_s) x0_hat + sqrt(1 - a_s) eps")


def _field(x: Tensor, t: float) -> Tensor:
    # a velocity that depends on t, so evaluating at the wrong time shows
    return -x * (1 + 2 * t) + t


@exercise("11.4", "Sampling flow matching with Euler steps")
def _euler(answer: object) -> str:
    x0 = torch.randn(10, 2, generator=_gen(), dtype=F64)
    steps = 8
    got = expect_tensor(answer(_field, x0, steps), (10, 2), "(n, D), like x0")
    h = 1 / steps

    def run(time_of: object, size: float) -> Tensor:
        x = x0
        for i in range(steps):
            x = x + size * _field(x, time_of(i))
        return x

    if torch.allclose(got, run(lambda i: i * h, h), atol=1e-10):
        return ("x <- x + h v(x, t) with h = 1 / steps and t = i h: the explicit Euler "
                "method from t = 0 (noise) to t = 1 (data).")
    if torch.allclose(got, run(lambda i: 0.0, h), atol=1e-10):
        raise Incorrect("advance the time: step i evaluates the field at t = i / steps")
    if torch.allclose(got, run(lambda i: (i + 1) * h, h), atol=1e-10):
        raise Incorrect("explicit Euler evaluates the field at the start of each step, "
                        "t = i / steps, not at its end")
    if torch.allclose(got, run(lambda i: i * h, 1.0), atol=1e-10):
        raise Incorrect("the step size is h = 1 / steps: the steps cover t from 0 to 1")
    raise Incorrect("for i in range(steps): x = x + h * velocity(x, i * h), with h = 1 / steps")
