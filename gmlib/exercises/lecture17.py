"""Checks for the exercises of lecture 17 (masked diffusion and fast sampling)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from gmlib.exercises.answers import expect_tensor
from gmlib.exercises.core import Incorrect, exercise

K, D = 3, 4


class _TinyDenoiser(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.w1 = torch.randn(D * (K + 1), 16, generator=gen, dtype=torch.float64)
        self.w2 = torch.randn(16, D * K, generator=gen, dtype=torch.float64)

    def forward(self, tokens: Tensor) -> Tensor:
        one_hot = nn.functional.one_hot(tokens.long(), K + 1).double().flatten(1)
        return (torch.tanh(one_hot @ self.w1) @ self.w2).view(len(tokens), D, K)


def _variants(log_probs: Callable[[Tensor], Tensor], x: Tensor) -> dict[str, Tensor]:
    """The bound and the usual wrong versions of it, by enumeration of the masks."""
    out = {name: torch.zeros(len(x), dtype=torch.float64)
           for name in ("right", "no_1_over_m", "all_positions", "mean_over_sets")}
    for bits in itertools.product((False, True), repeat=D):
        m = sum(bits)
        if m == 0:
            continue
        hide = torch.tensor(bits).expand_as(x)
        log_p = log_probs(x.masked_fill(hide, K)).gather(-1, x.unsqueeze(-1)).squeeze(-1)
        ce_hidden = -(log_p * hide).sum(-1)
        weight = 1.0 / math.comb(D, m)
        out["right"] -= weight / m * ce_hidden
        out["no_1_over_m"] -= weight * ce_hidden
        out["all_positions"] -= weight / m * -log_p.sum(-1)
        out["mean_over_sets"] -= ce_hidden / (m * (2 ** D - 1))
    return out


@exercise("17.1", "The masked-diffusion bound, enumerated")
def _masked_bound(answer: object) -> str:
    net = _TinyDenoiser()

    def log_probs(tokens: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.log_softmax(net(tokens), -1)

    x = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0], [1, 0, 0, 1]])
    got = expect_tensor(answer(log_probs, x.clone(), K), (3,), "(B,)")
    wrong = _variants(log_probs, x)
    want = wrong.pop("right")
    if torch.allclose(got, want, atol=1e-9):
        return ("the bound sums, over m = 1..D, the mean cross-entropy per hidden pixel over "
                "the sets of m hidden pixels: the any-order autoregressive objective.")
    if torch.allclose(got, -want, atol=1e-9):
        raise Incorrect("that is the negative bound: return the lower bound on log p(x), the "
                        "minus sign included")
    hints = {"no_1_over_m": "each set of m hidden pixels is weighted 1/m: integrating t out "
                            "of the 1/t weight gives it",
             "all_positions": "count the cross-entropy of the hidden pixels only: the "
                              "visible ones are given, not predicted",
             "mean_over_sets": "average over the sets of each size m (weight 1 / C(D, m)), "
                               "then sum over m; not one average over all sets"}
    for name, value in wrong.items():
        if torch.allclose(got, value, atol=1e-9) or torch.allclose(got, -value, atol=1e-9):
            raise Incorrect(hints[name])
    raise Incorrect("enumerate every non-empty set M of hidden pixels; hide them (token K), "
                    "sum -log p(x_i | visible) over i in M, weight 1 / (|M| C(D, |M|)); the "
                    "bound is minus the total")


def _dpm_reference(x0_fn: Callable[[Tensor, int], Tensor], x: Tensor, alpha_bars: Tensor,
                   *, order: str) -> Tensor:
    lam = 0.5 * (alpha_bars.log() - (1 - alpha_bars).log())
    previous = None
    n = len(alpha_bars)
    for i in range(n):
        x0 = x0_fn(x, i)
        if i == n - 1:
            return x0
        h = lam[i + 1] - lam[i]
        data = x0
        last = i == n - 2
        if previous is not None and order != "first" and (order == "always" or not last):
            r = (lam[i] - lam[i - 1]) / h
            data = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * previous
        sigma, sigma_next = (1 - alpha_bars[i]).sqrt(), (1 - alpha_bars[i + 1]).sqrt()
        x = sigma_next / sigma * x - alpha_bars[i + 1].sqrt() * torch.expm1(-h) * data
        previous = x0
    return x


@exercise("17.2", "DPM-Solver++(2M)")
def _dpm_solver(answer: object) -> str:
    mean, var = 0.5, 0.3

    def x0_fn(x: Tensor, i: int) -> Tensor:  # the exact denoiser of N(mean, var) data
        a = alpha_bars[i]
        return mean + a.sqrt() * var / (a * var + 1 - a) * (x - a.sqrt() * mean)

    alpha_bars = torch.tensor([1e-3, 0.05, 0.2, 0.45, 0.7, 0.88, 0.97, 0.999],
                              dtype=torch.float64)
    x_start = torch.randn(64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = expect_tensor(answer(x0_fn, x_start.clone(), alpha_bars), (64,), "(n,)")
    want = _dpm_reference(x0_fn, x_start, alpha_bars, order="final-first")
    if torch.allclose(got, want, atol=1e-9):
        return ("DDIM's exponential integrator with x0_hat extrapolated linearly in lambda "
                "from the last two predictions: second order for one network call a step.")
    if torch.allclose(got, _dpm_reference(x0_fn, x_start, alpha_bars, order="first"),
                      atol=1e-9):
        raise Incorrect("that is DDIM (x0_hat held constant over each step): from the second "
                        "step on, use (1 + 1/(2r)) x0_hat_i - 1/(2r) x0_hat_{i-1}")
    if torch.allclose(got, _dpm_reference(x0_fn, x_start, alpha_bars, order="always"),
                      atol=1e-9):
        raise Incorrect("make the last step first order: it is several times longer in "
                        "lambda than the step before, so the line through the last two "
                        "predictions would be extrapolated far beyond them")
    raise Incorrect("with lambda_i = log(alpha_i / sigma_i) and h = lambda_{i+1} - lambda_i: "
                    "x <- (sigma_{i+1} / sigma_i) x - alpha_{i+1} (e^{-h} - 1) D, where D is "
                    "x0_hat_i on the first and last steps and the extrapolation with r = "
                    "(lambda_i - lambda_{i-1}) / h in between; return the last x0_hat")
