"""`FlowMatching`: conditional flow matching with straight paths, sampled by an ODE solver.

Noise x_0 ~ N(0, I) and data x_1 are joined by the straight path x_t = (1 - t) x_0 + t x_1,
whose velocity is x_1 - x_0. A network v(x_t, t) regressed onto that velocity learns the
marginal velocity field that carries N(0, I) to the data distribution (Lipman et al. 2023;
Liu et al. 2023 call the same model rectified flow); sampling integrates dx/dt = v(x, t) from
t = 0 to 1. It is the continuous-time, deterministic view of diffusion: the probability-flow
ODE of a diffusion with a particular schedule is such a flow.

References:
    Lipman et al. 2023, Flow matching for generative modeling, https://arxiv.org/abs/2210.02747
    Liu et al. 2023, Flow straight and fast, https://arxiv.org/abs/2209.03003
    Chen et al. 2018, Neural ordinary differential equations, https://arxiv.org/abs/1806.07366
    Song et al. 2021, Score-based generative modeling through stochastic differential
    equations, https://arxiv.org/abs/2011.13456
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.data.digits import levels_to_signed, signed_to_levels
from gmlib.diffusion.labels import as_labels, check_p_uncond, drop_labels
from gmlib.validation import check_int, check_nonnegative

__all__ = ["ODE_METHODS", "FlowMatching"]

ODE_METHODS = ("euler", "midpoint", "rk4")


class FlowMatching(GenerativeModel):
    """A velocity network trained by conditional flow matching.

    Args:
        velocity: `net(x_t, t, c)` with t (B,) in [0, 1] -> (B, *event) velocities.
        event_shape: shape of one example.
        n_levels: data on grey levels 0..n_levels-1 (scaled to [-1, 1] inside); None for
            real-valued data.
        sigma_min: a small noise around the path (Lipman et al.'s sigma_min); 0 gives the
            straight path of rectified flow.
        n_classes, p_uncond: labels for a class-conditional model, and the share of them
            dropped during training so guidance has an unconditional field to contrast.

    Shapes:
        loss(x) -> (B,); sample(n) -> (n, *event_shape); log_prob(x) -> (B,)
    """

    def __init__(self, velocity: nn.Module, event_shape: Sequence[int], *,
                 n_levels: int | None = None, sigma_min: float = 0.0,
                 n_classes: int | None = None, p_uncond: float = 0.1) -> None:
        super().__init__(event_shape, Support.real() if n_levels is None
                         else Support.levels(n_levels))
        self.velocity = velocity
        self.n_levels = None if n_levels is None else check_int(n_levels, "n_levels", minimum=2)
        self.sigma_min = check_nonnegative(sigma_min, "sigma_min")
        self.n_classes = None if n_classes is None else check_int(n_classes, "n_classes", 1)
        self.p_uncond = check_p_uncond(p_uncond)
        # follows .double() / .to(dtype), so samples come out in the model's working dtype
        self.register_buffer("dtype_anchor", torch.zeros(()), persistent=False)


    @property
    def is_conditional(self) -> bool:
        return self.n_classes is not None
    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """||v(x_t, t) - (x_1 - (1 - sigma_min) x_0)||^2 per example, t ~ U(0, 1)."""
        x1 = levels_to_signed(self.validate_input(x), self.n_levels)
        labels = as_labels(c, self.n_classes, x1.shape[0], x1.device)
        labels = drop_labels(labels, self.n_classes, self.p_uncond)
        return self.coupled_loss(torch.randn_like(x1), x1, labels)

    def coupled_loss(self, x0: Tensor, x1: Tensor, labels: Tensor | None = None) -> Tensor:
        """The regression for given pairs (x0, x1) in the model's space ([-1, 1] for grey
        levels): independent pairs in `loss`; the pairs of a trained flow's own ODE for
        rectified flow (`gmlib.diffusion.fast.Reflow`).

        Shapes:
            x0, x1: (B, *event_shape) -> (B,)
        """
        if x0.shape != x1.shape or tuple(x1.shape[1:]) != self.event_shape:
            raise ValueError(f"x0 and x1 must both have shape (B, *{self.event_shape}); got "
                             f"{tuple(x0.shape)} and {tuple(x1.shape)}")
        t = torch.rand(x1.shape[0], device=x1.device, dtype=x1.dtype)
        tt = t.view(-1, *([1] * (x1.dim() - 1)))
        x_t = (1 - (1 - self.sigma_min) * tt) * x0 + tt * x1
        target = x1 - (1 - self.sigma_min) * x0
        return (self.velocity(x_t, t, labels) - target).pow(2).flatten(1).sum(-1)

    def field(self, x: Tensor, t: float | Tensor, c: Tensor | int | None = None, *,
              guidance: float = 0.0) -> Tensor:
        """The learned velocity at (x, t); with labels and guidance w > 0 the guided field
        (1 + w) v(x, t, c) - w v(x, t, no label).

        Shapes:
            x: (B, *event) -> (B, *event)
        """
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(x.shape[0])
        labels = as_labels(c, self.n_classes, x.shape[0], x.device)
        v = self.velocity(x, t, labels)
        if guidance and labels is not None:
            v = (1 + guidance) * v - guidance * self.velocity(x, t, None)
        return v

    def integrate(self, x0: Tensor, c: Tensor | int | None = None, *, steps: int = 50,
                  method: str = "midpoint", guidance: float = 0.0,
                  keep_path: bool = False) -> Tensor | list[Tensor]:
        """Solve dx/dt = v(x, t) from t = 0 to 1 with `steps` fixed steps of `method`
        ("euler", "midpoint" or "rk4"); the whole path when `keep_path`.

        Shapes:
            x0: (B, *event) -> (B, *event), or a list of steps + 1 of them
        """
        check_int(steps, "steps", minimum=1)
        if method not in ODE_METHODS:
            raise ValueError(f"method must be one of {ODE_METHODS}; got {method!r}")
        h = 1.0 / steps
        x, path = x0, [x0]

        def f(state: Tensor, t: float) -> Tensor:
            return self.field(state, t, c, guidance=guidance)

        for i in range(steps):
            t = i * h
            if method == "euler":
                x = x + h * f(x, t)
            elif method == "midpoint":
                x = x + h * f(x + h / 2 * f(x, t), t + h / 2)
            else:
                k1 = f(x, t)
                k2 = f(x + h / 2 * k1, t + h / 2)
                k3 = f(x + h / 2 * k2, t + h / 2)
                k4 = f(x + h * k3, t + h)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if keep_path:
                path.append(x)
        return path if keep_path else x

    def _sample(self, n: int, c: Tensor | int | None = None, *, steps: int = 50,
                method: str = "midpoint", guidance: float = 0.0,
                generator: torch.Generator | None = None) -> Tensor:
        x0 = torch.randn((n, *self.event_shape), generator=generator, device=self.device,
                         dtype=self.dtype_anchor.dtype)
        x = self.integrate(x0, c, steps=steps, method=method, guidance=guidance)
        return signed_to_levels(x, self.n_levels)

    def divergence(self, x: Tensor, t: float, c: Tensor | int | None = None) -> Tensor:
        """The exact divergence of the learned field, sum_i dv_i/dx_i, one backward pass per
        dimension (so meant for low-dimensional data).

        Shapes:
            x: (B, *event) -> (B,)
        """
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            v = self.field(x, t, c).flatten(1)
            total = x.new_zeros(x.shape[0])
            for i in range(v.shape[1]):
                (grad,) = torch.autograd.grad(v[:, i].sum(), x, retain_graph=True)
                total = total + grad.flatten(1)[:, i]
        return total.detach()

    def log_prob(self, x: Tensor, c: Tensor | int | None = None, *, steps: int = 50) -> Tensor:
        """log p(x) by the instantaneous change of variables (Chen et al. 2018): integrate
        the ODE backwards from x at t = 1 to t = 0 with the fourth-order Runge-Kutta rule,
        accumulating the divergence, so log p(x) = log N(x_0; 0, I) - int_0^1 div v dt.
        Exact up to the solver's error (shrinking as `steps` grows); real-valued data only.

        References:
            Chen et al. 2018, Neural ordinary differential equations,
            https://arxiv.org/abs/1806.07366

        Shapes:
            x: (B, *event) -> (B,)
        """
        if self.n_levels is not None:
            raise NotImplementedError(
                "for grey levels a density of the continuous values is not a likelihood of "
                "the data; it would need dequantisation (lecture 08)")
        x = self.validate_input(x)
        check_int(steps, "steps", minimum=1)
        h = -1.0 / steps

        def f(state: Tensor, t: float) -> tuple[Tensor, Tensor]:
            return self.field(state, t, c).detach(), self.divergence(state, t, c)

        integral = x.new_zeros(x.shape[0])
        for i in range(steps):
            t = 1.0 + i * h
            k1, d1 = f(x, t)
            k2, d2 = f(x + h / 2 * k1, t + h / 2)
            k3, d3 = f(x + h / 2 * k2, t + h / 2)
            k4, d4 = f(x + h * k3, t + h)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            integral = integral + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
        # integrating backwards, `integral` is -int_0^1 div v dt
        base = -0.5 * (x.flatten(1) ** 2 + math.log(2 * math.pi)).sum(-1)
        return base + integral
