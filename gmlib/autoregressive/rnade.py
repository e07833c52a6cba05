"""RNADE: NADE for real-valued data, with a mixture of Gaussians as every conditional.

The hidden layer is NADE's (shared weights, one cumulative sum for all positions); each
position r turns its hidden vector into the weights, means and scales of a C-component
Gaussian mixture for x_{o_r}:

    p(x_{o_r} | x_{o_<r}) = sum_c pi_rc N(x_{o_r}; mu_rc, sigma_rc^2).

The seed notes it [002]: "in case of modeling continuous random variables, a mixture of
Gaussians can be used". The density is exact; sampling is sequential.

References:
    Uria, Murray, Larochelle (2013), RNADE: The real-valued neural autoregressive
    density-estimator, NeurIPS, https://arxiv.org/abs/1306.0186
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.autoregressive.base import as_event_shape, check_order, draw_categorical
from gmlib.autoregressive.nade import nade_preactivations
from gmlib.base import DensityModel
from gmlib.densities import LOG_2PI
from gmlib.validation import Support, check_int

__all__ = ["RNADE"]


class RNADE(DensityModel):
    """Real-valued NADE with mixture-of-Gaussians conditionals.

    Args:
        event_shape: the number of inputs D, or the shape of one observation.
        hidden: size H of the shared hidden layer.
        n_components: C, Gaussians per conditional.
        order: the ordering of the chain rule ("natural", "random" or a permutation).

    Shapes:
        x: (B, *event_shape) real -> log_prob (B,); conditional_params: (B, D) -> three
        (B, D, C) tensors (mixture logits, means, log scales), indexed by variable
    """

    def __init__(self, event_shape: int | Sequence[int], *, hidden: int = 64,
                 n_components: int = 5,
                 order: Sequence[int] | Tensor | str | None = None) -> None:
        event_shape = as_event_shape(event_shape)
        super().__init__(event_shape, Support.real())
        check_int(hidden, "hidden", 1)
        check_int(n_components, "n_components", 1)
        self.n_dims = math.prod(event_shape)
        self.n_components = n_components
        self.register_buffer("order", check_order(order, self.n_dims))
        D, H, C = self.n_dims, hidden, n_components
        self.W = nn.Parameter(torch.randn(H, D) * D ** -0.5)
        self.c = nn.Parameter(torch.zeros(H))
        # the paper's rho: a per-position scale of the pre-activations, so the hidden units
        # do not saturate as the sum over earlier inputs grows with r
        self.log_rho = nn.Parameter(torch.zeros(D))
        self.V = nn.Parameter(torch.randn(3, D, H, C) * H ** -0.5)
        self.b = nn.Parameter(torch.zeros(3, D, C))
        with torch.no_grad():  # spread the initial means so the components differ
            self.b[1] = torch.linspace(-1.5, 1.5, C)

    def conditional_params(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mixture logits, means and log-scales of every conditional, by variable index."""
        order = self.order
        a = nade_preactivations(x[:, order], self.W[:, order], self.c)  # (B, D, H)
        h = torch.relu(a * self.log_rho[order].exp()[:, None])
        params = torch.einsum("bdh,pdhc->pbdc", h, self.V[:, order]) + self.b[:, None, order]
        inverse = torch.argsort(order)
        logits, means, log_scales = (p[:, inverse] for p in params)
        return logits, means, log_scales

    def _log_prob(self, x: Tensor) -> Tensor:
        flat = x.reshape(x.shape[0], self.n_dims)
        logits, means, log_scales = self.conditional_params(flat)
        z = (flat.unsqueeze(-1) - means) * torch.exp(-log_scales)
        log_normal = -0.5 * (z**2 + LOG_2PI) - log_scales
        per_dim = torch.logsumexp(torch.log_softmax(logits, -1) + log_normal, -1)
        return per_dim.sum(-1)

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        x = torch.zeros(n, self.n_dims, dtype=self.W.dtype, device=self.W.device)
        for i in self.order.tolist():
            logits, means, log_scales = (p[:, i] for p in self.conditional_params(x))
            u = torch.rand(n, generator=generator, dtype=torch.float64).to(x.device)
            c = draw_categorical(logits, u).long()[:, None]  # the component
            eps = torch.randn(n, generator=generator, dtype=x.dtype).to(x.device)
            x[:, i] = means.gather(1, c)[:, 0] + log_scales.gather(1, c)[:, 0].exp() * eps
        return x.reshape(n, *self.event_shape)
