"""Monotone rational-quadratic splines, the elementwise map of neural spline flows.

On [-B, B] the map is made of K rational-quadratic pieces through K + 1 knots whose widths,
heights and slopes are free parameters; outside it is the identity (linear tails with slope
1). Each piece is monotone, has a closed-form inverse (a quadratic equation) and a closed-form
derivative, so the map is a flexible, exactly invertible 1-D transform.

References:
    Durkan, Bekasov, Murray, Papamakarios (2019). Neural spline flows.
    https://arxiv.org/abs/1906.04032
    Gregory, Delbourgo (1982). Piecewise rational quadratic interpolation to monotonic data.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["IDENTITY_SLOPE", "rational_quadratic_spline", "spline_param_count"]

MIN_BIN = 1e-3
MIN_SLOPE = 1e-3
# the unconstrained slope parameter whose softplus is 1: with it (and zero widths and
# heights, i.e. equal bins) the spline starts as (nearly) the identity map
IDENTITY_SLOPE = math.log(math.e - 1)


def spline_param_count(n_bins: int) -> int:
    """Unconstrained numbers per variable: K widths, K heights, K - 1 interior slopes."""
    return 3 * n_bins - 1


def _knots(unnormalized: Tensor, bound: float) -> tuple[Tensor, Tensor]:
    """Bin sizes summing to 2B (each at least MIN_BIN of it) and the K + 1 knot positions."""
    n_bins = unnormalized.shape[-1]
    sizes = MIN_BIN + (1 - MIN_BIN * n_bins) * torch.softmax(unnormalized, -1)
    inner = torch.cumsum(sizes[..., :-1], -1) * 2 * bound - bound
    ends = torch.full_like(sizes[..., :1], bound)
    knots = torch.cat([-ends, inner, ends], -1)  # the end points exactly at -B and B
    return knots[..., 1:] - knots[..., :-1], knots


def _gather(values: Tensor, index: Tensor) -> Tensor:
    return values.gather(-1, index[..., None])[..., 0]


def rational_quadratic_spline(x: Tensor, params: Tensor, *, bound: float = 3.0,
                              inverse: bool = False) -> tuple[Tensor, Tensor]:
    """Apply the monotone spline (or its inverse) elementwise.

    Args:
        x: the inputs, any shape S.
        params: (*S, 3K - 1) unconstrained parameters per input: widths, heights, slopes.
        bound: B, the half-width of the interval [-B, B] where the spline acts.
        inverse: apply the inverse map instead.

    Returns:
        y of shape S and log |dy/dx| of shape S (of the map applied, so the inverse returns
        log |dx/dy|, minus the forward value at the matching point).
    """
    n_bins = (params.shape[-1] + 1) // 3
    if params.shape[:-1] != x.shape or params.shape[-1] != 3 * n_bins - 1:
        raise ValueError(f"params must have shape {(*x.shape, '3K-1')}; got "
                         f"{tuple(params.shape)}")
    widths, x_knots = _knots(params[..., :n_bins], bound)
    heights, y_knots = _knots(params[..., n_bins: 2 * n_bins], bound)
    slopes = MIN_SLOPE + F.softplus(params[..., 2 * n_bins:])
    one = torch.ones_like(slopes[..., :1])
    slopes = torch.cat([one, slopes, one], -1)  # slope 1 at the ends: smooth identity tails

    inside = (x > -bound) & (x < bound)
    xc = x.clamp(-bound, bound)  # evaluate the pieces on clamped inputs; tails replace them
    knots = y_knots if inverse else x_knots
    k = (torch.searchsorted(knots[..., 1:-1].contiguous(), xc[..., None])[..., 0])
    x_k, w = _gather(x_knots, k), _gather(widths, k)
    y_k, h = _gather(y_knots, k), _gather(heights, k)
    d_k, d_k1 = _gather(slopes, k), _gather(slopes[..., 1:], k)
    s = h / w
    curvature = d_k1 + d_k - 2 * s
    if not inverse:
        xi = ((xc - x_k) / w).clamp(0, 1)
        xi1 = xi * (1 - xi)
        denom = s + curvature * xi1
        y = y_k + h * (s * xi**2 + d_k * xi1) / denom
    else:
        dy = xc - y_k
        a = h * (s - d_k) + dy * curvature
        b = h * d_k - dy * curvature
        c = -s * dy
        disc = (b**2 - 4 * a * c).clamp(min=0)
        xi = ((2 * c) / (-b - disc.sqrt())).clamp(0, 1)
        xi1 = xi * (1 - xi)
        denom = s + curvature * xi1
        y = x_k + xi * w
    slope = s**2 * (d_k1 * xi**2 + 2 * s * xi1 + d_k * (1 - xi) ** 2) / denom**2
    log_det = torch.log(slope)
    log_det = -log_det if inverse else log_det
    return torch.where(inside, y, x), torch.where(inside, log_det, torch.zeros_like(x))
