"""Dequantisation: a continuous flow as a model of discrete data, and its likelihood bound.

A density p on the reals gives integer data the probability P(x) = ∫_[0,1)^D p(x + u) du.
With any noise distribution q(u | x) on the unit cube, Jensen's inequality gives

    log P(x) >= E_q[log p(x + u) - log q(u | x)]        (an ELBO with latent variable u),

so a dequantised flow is a latent-variable model and inherits the ELBO and its importance-
weighted refinement. Uniform noise (q = 1, Theis et al. 2016) is the simplest choice; a
learned q (variational dequantisation, Ho et al. 2019) puts the noise where the flow's
density is high, which tightens the bound and trains a better flow. The bookkeeping of units
lives here: with a flow that starts with `Logit(bound=K)`, every number is in nats of the
K-level data, directly comparable with the discrete models of the course.

References:
    Theis, van den Oord, Bethge (2016). A note on the evaluation of generative models.
    https://arxiv.org/abs/1511.01844
    Ho, Chen, Srinivas, Duan, Abbeel (2019). Flow++: improving flow-based generative models
    with variational dequantization and architecture design. https://arxiv.org/abs/1902.00275
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.base import LatentVariableModel
from gmlib.flows.coupling import AffineCoupling, checkerboard_mask, make_conditioner
from gmlib.flows.flow import Flow, StandardNormal
from gmlib.flows.transform import Chain, sum_except_batch
from gmlib.nn import MLP, ResidualConvNet
from gmlib.utils import logmeanexp, parameter_dtype
from gmlib.validation import Support, check_int

__all__ = ["DequantizedFlow", "UniformDequantizer", "VariationalDequantizer"]

# draws of u evaluated in one pass when k of them are averaged: (chunk x batch) flows at once
_MAX_PASS = 8192


class UniformDequantizer(nn.Module):
    """q(u | x) = U[0, 1)^D: u and log q(u | x) = 0.

    Shapes:
        x: (B, *shape) -> u (B, *shape), log_q (B,)
    """

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return torch.rand_like(x), x.new_zeros(x.shape[0])


class VariationalDequantizer(nn.Module):
    """q(u | x): a conditional flow of Gaussian noise, squashed into [0, 1)^D by a sigmoid.

    u = sigmoid(g(eps; x)), eps ~ N(0, I), with g a few affine couplings whose conditioners
    also see features of x (computed once by a small network). log q(u | x) follows from the
    change of variables, like any flow's density (Ho et al. 2019, section 3.1).

    Args:
        event_shape: the shape of one observation, (D,) or (C, H, W).
        n_levels: K; x is scaled to [-0.5, 0.5] before the feature network.
        hidden: width of the networks.
        n_layers: couplings of the noise flow.
        context_channels: features of x handed to every coupling.

    Shapes:
        x: (B, *event_shape) -> u (B, *event_shape) in (0, 1), log_q (B,)
    """

    def __init__(self, event_shape: tuple[int, ...], n_levels: int, *, hidden: int = 32,
                 n_layers: int = 4, context_channels: int = 8) -> None:
        super().__init__()
        self.n_levels = check_int(n_levels, "n_levels", 2)
        shape = tuple(event_shape)
        if len(shape) == 1:
            self.features = MLP(shape[0], [hidden], context_channels)
        else:
            self.features = ResidualConvNet(shape[0], hidden, context_channels,
                                            zero_output=False)
        self.noise_flow = Chain(
            AffineCoupling(checkerboard_mask(shape, i % 2),
                           make_conditioner(shape, 2, hidden=hidden, n_layers=1,
                                            context_channels=context_channels))
            for i in range(n_layers))
        self.base = StandardNormal(shape)

    def _context(self, x: Tensor) -> Tensor:
        return self.features(x / (self.n_levels - 1) - 0.5)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        eps = self.base.sample(x.shape[0]).to(x)
        # log q(u) = log N(eps) - log|det d(sigmoid o g)/d eps|, with eps -> g -> sigmoid
        h, log_det_g = self.noise_flow(eps, self._context(x))
        log_det_sigmoid = sum_except_batch(F.logsigmoid(h) + F.logsigmoid(-h))
        return torch.sigmoid(h), self.base.log_prob(eps) - log_det_g - log_det_sigmoid

    def log_prob(self, u: Tensor, x: Tensor) -> Tensor:
        """log q(u | x) of given noise u in (0, 1)^D, by inverting the noise flow.

        Shapes:
            u, x: (B, *event_shape) -> (B,)
        """
        h = torch.logit(u)
        eps, log_det_inv = self.noise_flow.inverse_and_log_det(h, self._context(x))
        log_det_sigmoid = sum_except_batch(F.logsigmoid(h) + F.logsigmoid(-h))
        return self.base.log_prob(eps) + log_det_inv - log_det_sigmoid


class DequantizedFlow(LatentVariableModel):
    """A flow on [0, K)^D used as a model of K-level data, through dequantisation noise u.

    `elbo(x)` = log p(x + u) - log q(u | x) with one draw, `iwae_bound(x, k)` averages k
    importance weights (Burda et al. 2016), `loss` is the negative ELBO and `sample` rounds
    the flow's samples down to the grid. The flow should map [0, K) to the real line first
    (`Logit(bound=K)`), so that the numbers are nats of the K-level data.

    Args:
        flow: the continuous density p, with event shape that of the data.
        n_levels: K, the number of integer levels of the data.
        dequantizer: q(u | x); uniform noise by default, or a `VariationalDequantizer`.

    Shapes:
        elbo, iwae_bound: (B, *event_shape) -> (B,); sample: n -> (n, *event_shape)
    """

    def __init__(self, flow: Flow, n_levels: int, *,
                 dequantizer: nn.Module | None = None) -> None:
        super().__init__(flow.event_shape, Support.levels(check_int(n_levels, "n_levels", 2)))
        self.flow = flow
        self.n_levels = n_levels
        self.dequantizer = UniformDequantizer() if dequantizer is None else dequantizer

    @torch.no_grad()
    def initialize(self, x: Tensor) -> DequantizedFlow:
        """Initialise the flow's data-dependent layers on a dequantised batch; returns self."""
        x = self.validate_input(x).to(parameter_dtype(self.flow))
        self.flow.initialize(x + self.dequantizer(x)[0])
        return self

    def _elbo(self, x: Tensor) -> Tensor:
        x = x.to(parameter_dtype(self.flow))
        u, log_q = self.dequantizer(x)
        return self.flow.log_prob(x + u) - log_q

    def _iwae_bound(self, x: Tensor, k: int) -> Tensor:
        chunk = max(1, _MAX_PASS // x.shape[0])
        weights = []
        for start in range(0, k, chunk):
            c = min(chunk, k - start)
            repeated = x.repeat(c, *([1] * (x.dim() - 1)))
            weights.append(self._elbo(repeated).view(c, x.shape[0]))
        return logmeanexp(torch.cat(weights), 0)

    def _sample(self, n: int, *, temperature: float = 1.0,
                generator: torch.Generator | None = None) -> Tensor:
        """The flow's samples x + u, floored to the levels x."""
        x = self.flow.sample(n, temperature=temperature, generator=generator)
        return torch.floor(x).clamp(0, self.n_levels - 1)

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refused: P(x) = ∫ p(x + u) du over the unit cube has no closed form."""
        raise NotImplementedError(
            "DequantizedFlow has no exact log_prob: the discrete probability "
            "P(x) = ∫ p(x + u) du over the unit cube [0, 1)^D has no closed form. Use "
            "elbo(x) for a lower bound, or iwae_bound(x, k), tighter as k grows.")
