"""Score matching: fitting grad log p(x) without the normalising constant.

* `exact_score_matching_loss`: Hyvarinen's objective E[0.5 |s(x)|^2 + tr ds/dx], equal to
  0.5 E|s(x) - grad log p(x)|^2 up to a constant; the trace costs one backward pass per
  dimension, so it is for low dimensions.
* `sliced_score_matching_loss`: the trace replaced by v^T (ds/dx) v for random v, whose
  expectation over v ~ N(0, I) is the trace (one backward pass whatever the dimension).
* `denoising_score_matching_loss`: match the score of the data blurred by N(0, sigma^2 I);
  the target (x - x_noisy) / sigma^2 is known, no derivative of s is needed.

All return one value per example.

References:
    Hyvarinen 2005, Estimation of non-normalized statistical models by score matching,
    https://jmlr.org/papers/v6/hyvarinen05a.html
    Vincent 2011, A connection between score matching and denoising autoencoders,
    https://doi.org/10.1162/NECO_a_00142
    Song et al. 2019, Sliced score matching, https://arxiv.org/abs/1905.07088
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gmlib.validation import check_int, check_tensor

__all__ = ["denoising_score_matching_loss", "exact_score_matching_loss",
           "sliced_score_matching_loss"]

ScoreFn = Callable[[Tensor], Tensor]


def _flat_input(x: Tensor) -> Tensor:
    check_tensor(x, "x")
    if x.dim() < 2:
        raise ValueError(f"x must have shape (B, *event); got {tuple(x.shape)}")
    return x.detach().requires_grad_(True)


def exact_score_matching_loss(score: ScoreFn, x: Tensor) -> Tensor:
    """0.5 |s(x)|^2 + tr(ds/dx) per example (Hyvarinen 2005), differentiable in s's parameters.

    Shapes:
        x: (B, D) -> (B,)
    """
    x = _flat_input(x)
    if x.dim() != 2:
        raise ValueError(f"exact score matching takes vectors (B, D); got {tuple(x.shape)}")
    s = score(x)
    trace = x.new_zeros(x.shape[0])
    for d in range(x.shape[1]):
        (grad,) = torch.autograd.grad(s[:, d].sum(), x, create_graph=True)
        trace = trace + grad[:, d]
    return 0.5 * s.pow(2).sum(-1) + trace


def sliced_score_matching_loss(score: ScoreFn, x: Tensor, *, n_projections: int = 1,
                               variance_reduction: bool = True) -> Tensor:
    """Sliced score matching per example, averaged over `n_projections` directions v ~ N(0, I):
    v^T (ds/dx) v + 0.5 (v^T s)^2, or with `variance_reduction` (SSM-VR) the exact
    0.5 |s|^2 in place of 0.5 (v^T s)^2 (its expectation over v).

    Shapes:
        x: (B, *event) -> (B,)
    """
    x = _flat_input(x)
    check_int(n_projections, "n_projections", minimum=1)
    s = score(x)
    total = x.new_zeros(x.shape[0])
    for _ in range(n_projections):
        v = torch.randn_like(x)
        sv = (s * v).flatten(1).sum(-1)
        (grad,) = torch.autograd.grad(sv.sum(), x, create_graph=True)
        first = (grad * v).flatten(1).sum(-1)
        second = 0.5 * s.pow(2).flatten(1).sum(-1) if variance_reduction else 0.5 * sv ** 2
        total = total + first + second
    return total / n_projections


def denoising_score_matching_loss(score: ScoreFn, x: Tensor, sigma: float | Tensor, *,
                                  noise: Tensor | None = None) -> Tensor:
    """0.5 |s(x + sigma eps) + eps / sigma|^2 per example (Vincent 2011).

    `sigma` may be one value or one per example (B,). Multiply by sigma^2 to weight noise
    levels evenly (Song & Ermon 2019).

    Shapes:
        x: (B, *event) -> (B,)
    """
    check_tensor(x, "x")
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.dim() == 1:
        sigma = sigma.view(-1, *([1] * (x.dim() - 1)))
    if bool((sigma <= 0).any()):
        raise ValueError("sigma must be positive")
    noise = torch.randn_like(x) if noise is None else noise
    return 0.5 * (score(x + sigma * noise) + noise / sigma).pow(2).flatten(1).sum(-1)
