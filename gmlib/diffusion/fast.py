"""Few-step sampling: a second-order solver for the diffusion ODE, and rectified flow.

* `dpm_solver_sample`: DPM-Solver++(2M) (Lu et al. 2022b) for a `GaussianDiffusion`. In
  log-SNR time lambda = log(alpha / sigma), the probability-flow ODE written for the data
  prediction x0_hat has the exact solution x_s = (sigma_s / sigma_t) x_t + alpha_s int
  e^(-lambda) x0_hat dlambda over [lambda_t, lambda_s]. Holding x0_hat constant over the step
  gives DDIM (first order); extrapolating it linearly from the previous step's prediction
  gives a second-order method at the same cost, one network evaluation per step.
* `Reflow` / `reflow_pairs`: rectified flow (Liu et al. 2023). The trained flow's ODE
  couples each noise x0 with the sample x1 it ends at; flow matching on those *coupled*
  pairs learns paths that are nearly straight (the pairs no longer cross), so a few Euler
  steps, even one, follow them well.

References:
    Lu et al. 2022b, DPM-Solver++: fast solver for guided sampling of diffusion probabilistic
    models, https://arxiv.org/abs/2211.01095
    Song, Meng, Ermon 2021, Denoising diffusion implicit models,
    https://arxiv.org/abs/2010.02502
    Liu, Gong, Liu 2023, Flow straight and fast: learning to generate and transfer data with
    rectified flow, https://arxiv.org/abs/2209.03003
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gmlib.diffusion.flow_matching import FlowMatching
from gmlib.diffusion.gaussian import GaussianDiffusion
from gmlib.diffusion.labels import as_labels
from gmlib.validation import check_int, check_positive_int, check_tensor

__all__ = ["Reflow", "dpm_solver_sample", "reflow_pairs"]


@torch.no_grad()
def dpm_solver_sample(model: GaussianDiffusion, n: int, *, steps: int,
                      c: Tensor | int | None = None, guidance: float = 0.0,
                      generator: torch.Generator | None = None) -> Tensor:
    """Samples of a `GaussianDiffusion` by DPM-Solver++(2M) with `steps` network evaluations
    on the timesteps DDIM uses (`model.timestep_sequence(steps)`); the last evaluation's
    x0_hat is the sample (rounded to grey levels for data on levels).

    Shapes:
        returns (n, *event_shape)
    """
    if not isinstance(model, GaussianDiffusion):
        raise TypeError(f"model must be a GaussianDiffusion; got {type(model).__name__}")
    check_positive_int(n, "n")
    sequence = model.timestep_sequence(check_int(steps, "steps", 1))
    device, dtype = model.device, model.dtype_anchor.dtype
    x = torch.randn((n, *model.event_shape), generator=generator, device=device, dtype=dtype)
    labels = as_labels(c, model.n_classes, n, device)
    previous: tuple[Tensor, Tensor] | None = None  # (x0_hat, lambda) of the last step
    for i, step in enumerate(sequence):
        t = torch.full((n,), step, dtype=torch.long, device=device)
        _, x0, a = model.sampling_prediction(x, t, labels, guidance=guidance)
        following = sequence[i + 1] if i + 1 < len(sequence) else 0
        if following == 0:
            x = x0
            break
        a_next = model.schedule.gather("alphas_cumprod", torch.full_like(t, following), x)
        lam, lam_next = _log_snr(a), _log_snr(a_next)
        h = lam_next - lam
        data = x0
        # the last step is first order (Lu et al. and diffusers do so for few steps): on
        # DDIM's grid it jumps furthest in lambda, where x0_hat levels off and a line through
        # the last two predictions overshoots
        last_step = i + 2 == len(sequence)
        if previous is not None and not last_step:  # x0_hat extrapolated linearly in lambda
            x0_prev, lam_prev = previous
            r = (lam - lam_prev) / h
            data = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * x0_prev
        sigma, sigma_next = (1 - a).sqrt(), (1 - a_next).sqrt()
        x = sigma_next / sigma * x - a_next.sqrt() * torch.expm1(-h) * data
        previous = (x0, lam)
    return model.to_data_space(x)


def _log_snr(a: Tensor) -> Tensor:
    """lambda = log(alpha / sigma) from alpha_bar = alpha^2."""
    return 0.5 * (a.log() - (1 - a).log())


@torch.no_grad()
def reflow_pairs(flow: FlowMatching, n: int, *, steps: int = 50, method: str = "midpoint",
                 batch_size: int = 500,
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """n pairs (x0, x1): noise and where the flow's ODE takes it, both in the model's space
    ([-1, 1] for grey levels, not rounded), for training a `Reflow`.

    Shapes:
        returns x0, x1: (n, *event_shape) each, on the flow's device
    """
    if not isinstance(flow, FlowMatching):
        raise TypeError(f"flow must be a FlowMatching model; got {type(flow).__name__}")
    check_positive_int(n, "n")
    check_positive_int(batch_size, "batch_size")
    noise, ends = [], []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        x0 = torch.randn((size, *flow.event_shape), generator=generator,
                         dtype=flow.dtype_anchor.dtype).to(flow.device)
        noise.append(x0)
        ends.append(flow.integrate(x0, steps=steps, method=method))
    return torch.cat(noise), torch.cat(ends)


class Reflow(nn.Module):
    """Trains a `FlowMatching` student on coupled pairs: `fit(Reflow(student), (x1, x0))`.

    `gmlib.train.fit` passes each batch as `loss(x, c=c)`, so here x is the batch of ends x1
    and c the batch of the noises x0 they came from; the student is then sampled as usual.

    Shapes:
        x (ends), c (noises): (B, *event_shape) -> loss (B,)
    """

    def __init__(self, student: FlowMatching) -> None:
        super().__init__()
        if not isinstance(student, FlowMatching):
            raise TypeError(f"student must be a FlowMatching model; got "
                            f"{type(student).__name__}")
        self.student = student

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        if c is None:
            raise ValueError("Reflow trains on pairs: pass (x1, x0) to fit, the ends and "
                             "the noises they came from (see reflow_pairs)")
        check_tensor(x, "x")
        check_tensor(c, "c")
        return self.student.coupled_loss(c, x)
