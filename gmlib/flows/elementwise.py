"""Elementwise transforms: the logit pre-processing of bounded data, and learned 1-D splines.

`Logit` maps data in a box (0, K)^D, such as dequantised K-level pixels, to the whole real
line, where a Gaussian base distribution can reach it; its log-determinant is what keeps the
flow's density in the units of the original data, so a flow that starts with it reports
nats on the integer scale directly. `ElementwiseSpline` is a learned monotone map of each
coordinate on its own, the 1-D flow of lecture 08's change-of-variables picture.

References:
    Dinh, Sohl-Dickstein, Bengio (2017). Density estimation using Real NVP (the logit
    pre-processing, section 4.1). https://arxiv.org/abs/1605.08803
    Durkan, Bekasov, Murray, Papamakarios (2019). Neural spline flows.
    https://arxiv.org/abs/1906.04032
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.flows.spline import IDENTITY_SLOPE, rational_quadratic_spline, spline_param_count
from gmlib.flows.transform import Transform, sum_except_batch
from gmlib.validation import check_positive_int

__all__ = ["ElementwiseSpline", "Logit"]


class Logit(Transform):
    """y = logit(alpha + (1 - 2 alpha) x / bound): from the box (0, bound) to the real line.

    The squeeze by alpha keeps the end points of the box finite. For dequantised K-level data
    use bound = K: a value x + u with u in [0, 1) then lies in [0, K), and the flow's
    log-density is per unit of the integer grey-level scale, i.e. a bound on the discrete
    log-likelihood in nats without any further correction. A small alpha (the default) maps
    the bins at the ends of the range to long tails instead of hard walls, which a Gaussian
    base fits far better; RealNVP used alpha = 0.05 for 8-bit images.

    Args:
        bound: the upper end of the box (the lower end is 0).
        alpha: the margin kept at each end, in (0, 0.5).

    Shapes:
        x: (B, *shape) -> the same; log|det| summed per example.
    """

    def __init__(self, bound: float, *, alpha: float = 1e-5) -> None:
        super().__init__()
        if not bound > 0:
            raise ValueError(f"bound must be positive; got {bound!r}")
        if not 0 < alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5); got {alpha!r}")
        self.bound, self.alpha = float(bound), float(alpha)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if bool(((x < 0) | (x > self.bound)).any()):  # the logit would be NaN there
            raise ValueError(f"Logit(bound={self.bound:g}) expects inputs in [0, "
                             f"{self.bound:g}]; got values from {float(x.min()):.4g} to "
                             f"{float(x.max()):.4g} (dequantised K-level data x + u, "
                             f"u in [0, 1), lie in [0, K))")
        scale = (1 - 2 * self.alpha) / self.bound
        p = self.alpha + scale * x
        z = torch.log(p) - torch.log1p(-p)
        # dz/dx = scale / (p (1 - p)); written with softplus so it is finite far in the tails
        log_det = math.log(scale) + F.softplus(-z) + F.softplus(z)
        return z, sum_except_batch(log_det)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        scale = (1 - 2 * self.alpha) / self.bound
        x = (torch.sigmoid(z) - self.alpha) / scale
        log_det = -(math.log(scale) + F.softplus(-z) + F.softplus(z))
        return x, sum_except_batch(log_det)


class ElementwiseSpline(Transform):
    """A learned monotone rational-quadratic spline for each coordinate, on [-B, B].

    Args:
        shape: the shape of one input, e.g. (2,) or (1, 8, 8).
        n_bins: K, the pieces of each spline.
        bound: B; outside [-B, B] the map is the identity.

    Shapes:
        x: (B, *shape) -> the same.
    """

    def __init__(self, shape: Sequence[int], *, n_bins: int = 8, bound: float = 3.0) -> None:
        super().__init__()
        check_positive_int(n_bins, "n_bins")
        self.bound = float(bound)
        self.params = nn.Parameter(torch.zeros(*shape, spline_param_count(n_bins)))
        with torch.no_grad():  # start (nearly) at the identity
            self.params[..., 2 * n_bins:] = IDENTITY_SLOPE

    def _spline(self, x: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        if x.shape[1:] != self.params.shape[:-1]:
            raise ValueError(f"ElementwiseSpline expects inputs of shape (B, "
                             f"{', '.join(map(str, self.params.shape[:-1]))}); got "
                             f"{tuple(x.shape)}")
        params = self.params.expand(*x.shape, -1)
        y, log_det = rational_quadratic_spline(x, params, bound=self.bound, inverse=inverse)
        return y, sum_except_batch(log_det)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._spline(x, inverse=False)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._spline(z, inverse=True)
