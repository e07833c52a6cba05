"""Masked autoregressive flows: a Gaussian autoregressive model is itself a flow.

If p(x_d | x_<d) = N(mu_d(x_<d), exp(2 a_d(x_<d))), then z_d = (x_d - mu_d) exp(-a_d) is
standard normal, and the map x -> z has a triangular Jacobian with diagonal exp(-a_d). One
MADE pass (lecture 05) gives every mu_d and a_d at once, so the density costs one pass;
inverting needs x_<d before x_d, so sampling costs D passes (MAF). Used the other way round,
`Inverse(MaskedAutoregressive(...))` samples in one pass and needs D passes for the density:
that is the inverse autoregressive flow (IAF), suited to VAE posteriors, which only score
their own samples. A coupling layer is the special case with two blocks of variables.

References:
    Papamakarios, Pavlakou, Murray (2017). Masked autoregressive flow for density
    estimation. https://arxiv.org/abs/1705.07057
    Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016). Improved variational
    inference with inverse autoregressive flow. https://arxiv.org/abs/1606.04934
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.flows.transform import Transform
from gmlib.nn import MaskedLinear, made_masks
from gmlib.validation import check_int

__all__ = ["MaskedAutoregressive"]


class MaskedAutoregressive(Transform):
    """One MAF layer: z_d = (x_d - mu_d(x_<d)) exp(-a_d(x_<d)) in the given order.

    Args:
        features: D, the size of the vectors it acts on.
        hidden_sizes: widths of the MADE's hidden layers.
        order: the autoregressive order, a permutation of 0..D-1 (default 0, 1, ..., D-1).
        clamp: bound on |a_d| (a scaled tanh), for stable training.

    Shapes:
        x: (B, D) -> z (B, D); log|det| = -sum_d a_d, shape (B,).
    """

    def __init__(self, features: int, *, hidden_sizes: Sequence[int] = (64, 64),
                 order: Tensor | None = None, clamp: float = 3.0) -> None:
        super().__init__()
        self.features = check_int(features, "features", 2)
        order = torch.arange(features) if order is None else torch.as_tensor(order)
        if sorted(order.tolist()) != list(range(features)):
            raise ValueError(f"order must be a permutation of 0..{features - 1}; got "
                             f"{order.tolist()}")
        self.register_buffer("order", order.long())
        self.clamp = float(clamp)
        masks = made_masks(order, hidden_sizes)
        widths = [features, *hidden_sizes]
        layers: list[nn.Module] = []
        for (w_in, w_out), mask in zip(itertools.pairwise(widths), masks[:-1], strict=True):
            linear = MaskedLinear(w_in, w_out)
            linear.set_mask(mask)
            layers += [linear, nn.ReLU()]
        out = MaskedLinear(widths[-1], 2 * features)  # mu and a, each with the output mask
        out.set_mask(masks[-1].repeat(2, 1))
        nn.init.zeros_(out.weight)  # start as the identity map
        nn.init.zeros_(out.bias)
        self.made = nn.Sequential(*layers, out)

    def _shift_and_log_scale(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() != 2 or x.shape[1] != self.features:
            raise ValueError(f"MaskedAutoregressive expects vectors (B, {self.features}); got "
                             f"{tuple(x.shape)}")
        mu, a = self.made(x).chunk(2, dim=1)
        return mu, self.clamp * torch.tanh(a / self.clamp)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mu, a = self._shift_and_log_scale(x)
        return (x - mu) * torch.exp(-a), -a.sum(1)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # after pass r the first r + 1 variables in the order are exact; D passes in all
        x = torch.zeros_like(z)
        for _ in range(self.features):
            mu, a = self._shift_and_log_scale(x)
            x = z * torch.exp(a) + mu
        return x, a.sum(1)
