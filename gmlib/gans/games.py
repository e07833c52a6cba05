"""Gradient play on a two-player zero-sum game min_x max_y V(x, y): why GAN training cycles.

On the bilinear game V(x, y) = x y, whose only equilibrium is the saddle point (0, 0),
*simultaneous* gradient steps multiply the distance to the saddle by sqrt(1 + lr^2) at every
step (they spiral outwards), while *alternating* steps (y reacts to the new x, as `train_gan`
does) have a Jacobian of determinant 1 and circle the saddle forever, never converging
(Mescheder et al. 2018; Gidel et al. 2019).

References:
    Mescheder et al. 2018, Which training methods for GANs do actually converge?,
    https://arxiv.org/abs/1801.04406
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gmlib.validation import check_positive_int

__all__ = ["gradient_play"]

MODES = ("simultaneous", "alternating")


def _grad(value_fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor,
          wrt: str) -> Tensor:
    x, y = x.detach().requires_grad_(wrt == "x"), y.detach().requires_grad_(wrt == "y")
    (grad,) = torch.autograd.grad(value_fn(x, y), x if wrt == "x" else y)
    return grad


def gradient_play(value_fn: Callable[[Tensor, Tensor], Tensor], x0: float, y0: float, *,
                  lr: float, steps: int, mode: str = "simultaneous") -> Tensor:
    """Run gradient descent on x and gradient ascent on y for `steps` steps.

    Args:
        value_fn: V(x, y) for scalar tensors, differentiable (e.g. `lambda x, y: x * y`).
        x0, y0: the starting point.
        lr: the step size of both players.
        steps: number of steps.
        mode: "simultaneous" (both use the old point) or "alternating" (x first, then y at
            the new x).

    Shapes:
        returns (steps + 1, 2), the trajectory (x_t, y_t) in float64
    """
    check_positive_int(steps, "steps")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr}")
    x = torch.tensor(float(x0), dtype=torch.float64)
    y = torch.tensor(float(y0), dtype=torch.float64)
    path = [torch.stack([x, y])]
    for _ in range(steps):
        x_new = x - lr * _grad(value_fn, x, y, "x")
        y = y + lr * _grad(value_fn, x_new if mode == "alternating" else x, y, "y")
        x = x_new
        path.append(torch.stack([x, y]))
    return torch.stack(path)
