"""The Glow layers: ActNorm, the invertible 1x1 convolution, squeeze and the multi-scale split.

Each works on a vector (B, D) or an image (B, C, H, W); "channels" are dim 1 either way, and
the per-channel log-determinant is multiplied by the number of positions H * W.

References:
    Kingma, Dhariwal (2018). Glow: generative flow with invertible 1x1 convolutions.
    https://arxiv.org/abs/1807.03039
    Dinh, Sohl-Dickstein, Bengio (2017). Density estimation using Real NVP.
    https://arxiv.org/abs/1605.08803
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.flows.transform import Transform
from gmlib.validation import check_positive_int

__all__ = ["ActNorm", "FactorOut", "InvertibleLinear", "Squeeze"]


def _positions(x: Tensor) -> int:
    """H * W for an image batch, 1 for a batch of vectors."""
    return math.prod(x.shape[2:])


def _per_channel(p: Tensor, x: Tensor) -> Tensor:
    """Reshape a (C,) parameter to broadcast against x of shape (B, C, ...)."""
    return p.view(1, -1, *([1] * (x.dim() - 2)))


def _check_channels(x: Tensor, n: int, name: str) -> None:
    if x.dim() < 2 or x.shape[1] != n:
        raise ValueError(f"{name} expects input of shape (B, {n}, ...) with {n} channels or "
                         f"features in dim 1; got {tuple(x.shape)}")


class ActNorm(Transform):
    """z = (x + b) * exp(s) per channel, initialised from the first batch it sees.

    The first forward pass sets b and s so that the outputs of that batch have zero mean and
    unit variance per channel (data-dependent initialisation); after that b and s are
    ordinary parameters. It plays the role of batch normalisation without depending on the
    batch at test time.

    Args:
        n_channels: C, the size of dim 1.

    Shapes:
        x: (B, C) or (B, C, H, W) -> the same; log|det| = H W sum(s).
    """

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.bias = nn.Parameter(torch.zeros(n_channels))
        self.log_scale = nn.Parameter(torch.zeros(n_channels))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Set b and s from a batch: per-channel mean 0 and standard deviation 1."""
        flat = x.transpose(0, 1).reshape(self.n_channels, -1)
        self.bias.copy_(-flat.mean(1))
        self.log_scale.copy_(-torch.log(flat.std(1, unbiased=False) + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_channels(x, self.n_channels, "ActNorm")
        if not bool(self.initialized):
            if x.shape[0] < 2:
                raise ValueError("ActNorm initialises from its first batch, which needs at "
                                 f"least 2 examples; got {x.shape[0]}")
            self.initialize(x)
        z = (x + _per_channel(self.bias, x)) * _per_channel(self.log_scale.exp(), x)
        log_det = self.log_scale.sum() * _positions(x)
        return z, log_det.expand(x.shape[0])

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_channels(z, self.n_channels, "ActNorm")
        x = z * _per_channel((-self.log_scale).exp(), z) - _per_channel(self.bias, z)
        log_det = -self.log_scale.sum() * _positions(z)
        return x, log_det.expand(z.shape[0])


class InvertibleLinear(Transform):
    """An invertible linear map of the channels, W = P L (U + diag(s)) (LU-parametrised).

    On images it is Glow's invertible 1x1 convolution: the same C x C matrix at every pixel,
    a learned generalisation of a channel permutation. P is a fixed permutation, L unit lower
    triangular, U strictly upper triangular, so log |det W| = sum log |s| costs O(C) instead
    of the O(C^3) of a determinant. W starts as a random rotation.

    Args:
        n_channels: C.
        seed: seed of the random rotation (None: the global generator).

    Shapes:
        x: (B, C) or (B, C, H, W) -> the same; log|det| = H W sum(log|s|).
    """

    def __init__(self, n_channels: int, *, seed: int | None = None) -> None:
        super().__init__()
        self.n_channels = check_positive_int(n_channels, "n_channels")
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(n_channels, n_channels, generator=gen))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("permutation", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(n_channels, n_channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_abs_s = nn.Parameter(torch.log(torch.abs(s)))

    def weight(self) -> Tensor:
        """The C x C matrix W."""
        eye = torch.eye(self.n_channels, dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_abs_s.exp())
        return self.permutation @ lower @ upper

    @staticmethod
    def _mix(w: Tensor, x: Tensor) -> Tensor:
        return torch.einsum("ij,bj...->bi...", w, x)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_channels(x, self.n_channels, "InvertibleLinear")
        log_det = self.log_abs_s.sum() * _positions(x)
        return self._mix(self.weight(), x), log_det.expand(x.shape[0])

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        _check_channels(z, self.n_channels, "InvertibleLinear")
        log_det = -self.log_abs_s.sum() * _positions(z)
        return self._mix(torch.linalg.inv(self.weight()), z), log_det.expand(z.shape[0])


class Squeeze(Transform):
    """Trade space for channels: each 2x2 block of pixels becomes 4 channels.

    (B, C, H, W) -> (B, 4C, H/2, W/2); a permutation, so log|det| = 0. It lets the next
    couplings mix pixels that a checkerboard or channel mask kept apart (Dinh et al. 2017).
    """

    @staticmethod
    def _check(x: Tensor) -> None:
        if x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError("Squeeze expects images (B, C, H, W) with even H and W; got "
                             f"shape {tuple(x.shape)}")

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check(x)
        b, c, h, w = x.shape
        z = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return z.reshape(b, 4 * c, h // 2, w // 2), x.new_zeros(b)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if z.dim() != 4 or z.shape[1] % 4:
            raise ValueError("Squeeze.inverse expects (B, 4C, H, W); got shape "
                             f"{tuple(z.shape)}")
        b, c4, h, w = z.shape
        x = z.reshape(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.reshape(b, c4 // 4, 2 * h, 2 * w), z.new_zeros(b)

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        c, h, w = shape
        return (4 * c, h // 2, w // 2)

    def input_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        c, h, w = shape
        return (c // 4, 2 * h, 2 * w)


class FactorOut(Transform):
    """The multi-scale architecture: half the channels leave the flow, the rest go on.

    The first `n_out` channels are passed through unchanged (they are already latent
    variables, modelled by the base distribution), the others go through `inner`, whose
    output must have the shape of its input. Later layers thus work on fewer dimensions,
    which saves computation and gives a coarse-to-fine latent hierarchy (Dinh et al. 2017).

    Args:
        inner: the transform applied to the channels that stay.
        n_out: how many channels are factored out.

    Shapes:
        x: (B, C, ...) -> the same.
    """

    def __init__(self, inner: Transform, n_out: int) -> None:
        super().__init__()
        self.inner = inner
        self.n_out = check_positive_int(n_out, "n_out")

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() < 2 or x.shape[1] <= self.n_out:
            raise ValueError(f"FactorOut needs more than n_out={self.n_out} channels in dim 1;"
                             f" got shape {tuple(x.shape)}")
        return x[:, : self.n_out], x[:, self.n_out:]

    def _join(self, out: Tensor, stay: Tensor, new_stay: Tensor) -> Tensor:
        if new_stay.shape != stay.shape:
            raise ValueError("FactorOut's inner transform must keep the shape of its input; "
                             f"got {tuple(stay.shape)} -> {tuple(new_stay.shape)}")
        return torch.cat([out, new_stay], 1)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, stay = self._split(x)
        new_stay, log_det = self.inner(stay, context)
        return self._join(out, stay, new_stay), log_det

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, stay = self._split(z)
        new_stay, log_det = self.inner.inverse_and_log_det(stay, context)
        return self._join(out, stay, new_stay), log_det
