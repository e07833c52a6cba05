"""Coupling layers: half the variables, kept fixed, set an invertible map of the other half.

With a binary mask m, the coupling is z = m * x + (1 - m) * g(x; theta(m * x)). The
parameters theta may come from any network (the conditioner), because the fixed half is
available again when inverting. Ordered fixed-half-first, the Jacobian is triangular with
g's derivatives on the diagonal, so log |det J| = sum over the changed half of log |g'|.

* `AffineCoupling`: g(x) = x exp(s) + t (RealNVP; Glow with a channel mask).
* `SplineCoupling`: g a monotone rational-quadratic spline (neural spline flows).

Masks: `checkerboard_mask` (alternate pixels, or alternate coordinates of a vector) and
`channel_mask` (the first or second half of the channels).

References:
    Dinh, Sohl-Dickstein, Bengio (2017). Density estimation using Real NVP.
    https://arxiv.org/abs/1605.08803
    Durkan, Bekasov, Murray, Papamakarios (2019). Neural spline flows.
    https://arxiv.org/abs/1906.04032
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.flows.spline import IDENTITY_SLOPE, rational_quadratic_spline, spline_param_count
from gmlib.flows.transform import Transform, sum_except_batch
from gmlib.nn import MLP, ResidualConvNet
from gmlib.validation import check_positive_int

__all__ = ["AffineCoupling", "SplineCoupling", "channel_mask", "checkerboard_mask",
           "make_conditioner"]


def checkerboard_mask(shape: Sequence[int], parity: int = 0) -> Tensor:
    """1 on the "black" squares: (i + j + parity) even for images, (i + parity) for vectors.

    Shapes:
        returns `shape`, (D,) or (C, H, W), float.
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return ((torch.arange(shape[0]) + parity) % 2 == 0).float()
    if len(shape) != 3:
        raise ValueError(f"shape must be (D,) or (C, H, W); got {shape}")
    c, h, w = shape
    grid = (torch.arange(h)[:, None] + torch.arange(w)[None, :] + parity) % 2 == 0
    return grid.float().expand(c, h, w).clone()


def channel_mask(shape: Sequence[int], parity: int = 0) -> Tensor:
    """1 on the first half of the channels (parity 0) or on the second half (parity 1).

    Shapes:
        returns `shape`, (C, H, W) with C even, float.
    """
    shape = tuple(shape)
    if len(shape) != 3 or shape[0] % 2:
        raise ValueError(f"a channel mask needs a shape (C, H, W) with C even; got {shape}")
    c = shape[0]
    first = (torch.arange(c) < c // 2).float()
    mask = first if parity % 2 == 0 else 1 - first
    return mask[:, None, None].expand(shape).clone()


def make_conditioner(shape: Sequence[int], n_params: int, *, hidden: int = 64,
                     n_layers: int = 2, context_channels: int = 0,
                     dropout: float = 0.0) -> nn.Module:
    """A zero-initialised network for a coupling: an MLP for vectors, a conv net for images.

    Args:
        shape: the event shape the coupling acts on, (D,) or (C, H, W).
        n_params: numbers per variable the coupling needs (2 for affine).
        hidden: width of the hidden layers (or channels).
        n_layers: hidden layers of the MLP, or residual blocks of the conv net.
        context_channels: extra input features (vectors) or channels (images) of the context.
        dropout: dropout inside the network.

    Shapes:
        (B, C + context_channels, H, W) -> (B, n_params * C, H, W), or
        (B, D + context_channels) -> (B, n_params * D).
    """
    shape = tuple(shape)
    if len(shape) == 1:
        net = MLP(shape[0] + context_channels, [hidden] * n_layers, n_params * shape[0],
                  dropout=dropout)
        nn.init.zeros_(net[-1].weight)
        nn.init.zeros_(net[-1].bias)
        return net
    if len(shape) == 3:
        return ResidualConvNet(shape[0] + context_channels, hidden, n_params * shape[0],
                               n_blocks=n_layers, dropout=dropout)
    raise ValueError(f"shape must be (D,) or (C, H, W); got {shape}")


class _Coupling(Transform):
    """The masking and the conditioner; subclasses supply the elementwise map g."""

    n_params: int

    def __init__(self, mask: Tensor, conditioner: nn.Module) -> None:
        super().__init__()
        if not bool(((mask == 0) | (mask == 1)).all()) or mask.all() or not mask.any():
            raise ValueError("mask must hold 0s and 1s, with at least one of each")
        self.register_buffer("mask", mask.float())
        self.conditioner = conditioner

    def _params(self, fixed: Tensor, context: Tensor | None) -> Tensor:
        """(B, *shape, n_params) parameters of g, from the fixed half (and the context)."""
        inputs = fixed if context is None else torch.cat([fixed, context], 1)
        out = self.conditioner(inputs)
        expected = (fixed.shape[0], self.n_params * self.mask.shape[0], *self.mask.shape[1:])
        if out.shape != expected:
            raise ValueError(f"the conditioner returned shape {tuple(out.shape)}; expected "
                             f"{expected} ({self.n_params} numbers per variable)")
        out = out.reshape(fixed.shape[0], self.n_params, *self.mask.shape)
        return out.movedim(1, -1)

    def _g(self, x: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _couple(self, x: Tensor, context: Tensor | None,
                inverse: bool) -> tuple[Tensor, Tensor]:
        if x.shape[1:] != self.mask.shape:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (B, "
                             f"{', '.join(map(str, self.mask.shape))}); got {tuple(x.shape)}")
        fixed = x * self.mask
        y, log_det = self._g(x, self._params(fixed, context), inverse)
        free = 1 - self.mask
        return fixed + free * y, sum_except_batch(free * log_det)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._couple(x, context, inverse=False)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._couple(z, context, inverse=True)


class AffineCoupling(_Coupling):
    """g(x) = x exp(s) + t, with log-scale s and shift t from the conditioner (RealNVP).

    s is soft-clamped to (-clamp, clamp) by a scaled tanh, so no layer can blow a value up
    by more than exp(clamp) (RealNVP bounds its scales with a tanh as well).

    Args:
        mask: 1 on the variables kept fixed; shape (D,) or (C, H, W).
        conditioner: maps the masked input (with the context concatenated on dim 1) to
            2 numbers per variable; see `make_conditioner`.
        clamp: the bound on |s|.

    Shapes:
        x: (B, *mask.shape) -> the same.
    """

    n_params = 2

    def __init__(self, mask: Tensor, conditioner: nn.Module, *, clamp: float = 3.0) -> None:
        super().__init__(mask, conditioner)
        self.clamp = float(clamp)

    def _g(self, x: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        log_scale = self.clamp * torch.tanh(params[..., 0] / self.clamp)
        shift = params[..., 1]
        if inverse:
            return (x - shift) * torch.exp(-log_scale), -log_scale
        return x * torch.exp(log_scale) + shift, log_scale


class SplineCoupling(_Coupling):
    """g a monotone rational-quadratic spline on [-bound, bound], identity outside.

    Args:
        mask: 1 on the variables kept fixed.
        conditioner: maps the masked input to 3 n_bins - 1 numbers per variable.
        n_bins: pieces of each spline.
        bound: the interval where the spline acts.

    Shapes:
        x: (B, *mask.shape) -> the same.
    """

    def __init__(self, mask: Tensor, conditioner: nn.Module, *, n_bins: int = 8,
                 bound: float = 4.0) -> None:
        super().__init__(mask, conditioner)
        self.n_bins = check_positive_int(n_bins, "n_bins")
        self.n_params = spline_param_count(n_bins)
        self.bound = float(bound)

    def _g(self, x: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        k = self.n_bins
        # a zero conditioner would give slopes softplus(0) < 1: shift them to start at ~1
        params = torch.cat([params[..., : 2 * k], params[..., 2 * k:] + IDENTITY_SLOPE], -1)
        return rational_quadratic_spline(x, params, bound=self.bound, inverse=inverse)
