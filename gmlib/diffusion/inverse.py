"""Inverse problems solved by posterior sampling with an unconditional diffusion model.

An inverse problem observes y = A(x) + noise and asks for x. A generative prior p(x) turns
it into sampling the posterior p(x | y) proportional to p(y | x) p(x), with no model trained
for A. Two ways of steering a trained `GaussianDiffusion` towards p(x | y):

* **Replacement** (`replacement_sample`): after every reverse step, overwrite the part of
  x_{t-1} that A sees with a forward-process sample of the observation,
  x_{t-1} <- x_{t-1} - A^+ A x_{t-1} + A^+ A x_{t-1}^obs, x_{t-1}^obs ~ q(x_{t-1} | A^+ y).
  For a pixel mask this is the inpainting of Song et al. (2021) and RePaint (Lugmayr et al.
  2022, whose `resample` jumps let the two parts agree); for a block average it is ILVR's
  low-pass replacement (Choi et al. 2021). Exact in the observed part, approximate in the
  rest: the model never learns that part is fixed. Assumes noiseless measurements.
* **Diffusion posterior sampling** (`dps_sample`, Chung et al. 2023): after every reverse
  step, move x_{t-1} down the gradient (with respect to x_t) of ||y - A(x0_hat(x_t))||,
  the Laplace-style approximation p(y | x_t) ~ p(y | x0_hat(x_t)). Works for any
  differentiable A and for noisy y; costs a backward pass through the network per step.

Operators are linear and written in the diffusion model's [-1, 1] space; the samplers take
and return images on grey levels. Their pseudo-inverse A^+ "lifts" a measurement back to an
image that A maps to it.

References:
    Song et al. 2021, Score-based generative modeling through stochastic differential
    equations, https://arxiv.org/abs/2011.13456
    Choi et al. 2021, ILVR: conditioning method for denoising diffusion probabilistic models,
    https://arxiv.org/abs/2108.02938
    Lugmayr et al. 2022, RePaint: inpainting using denoising diffusion probabilistic models,
    https://arxiv.org/abs/2201.09865
    Chung et al. 2023, Diffusion posterior sampling for general noisy inverse problems,
    https://arxiv.org/abs/2209.14687
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import Tensor

from gmlib.diffusion.gaussian import GaussianDiffusion
from gmlib.validation import check_int, check_nonnegative, check_tensor

__all__ = ["BlockAverage", "Inpainting", "LinearMeasurement", "dps_sample",
           "replacement_sample"]


class LinearMeasurement(ABC):
    """A linear measurement y = A x of images (B, C, H, W), with its pseudo-inverse A^+."""

    @abstractmethod
    def measure(self, x: Tensor) -> Tensor:
        """y = A x."""

    @abstractmethod
    def lift(self, y: Tensor) -> Tensor:
        """A^+ y: the least-norm image that A maps to y, shaped like x."""

    def project(self, x: Tensor, y: Tensor) -> Tensor:
        """x with the part A sees replaced by y: x - A^+ A x + A^+ y (so A of it is y)."""
        return x - self.lift(self.measure(x)) + self.lift(y)

    def check_images(self, x: Tensor, name: str = "x") -> Tensor:
        x = check_tensor(x, name)
        if x.dim() != 4:
            raise ValueError(f"{name} must be images of shape (B, C, H, W); got shape "
                             f"{tuple(x.shape)}")
        return x


class Inpainting(LinearMeasurement):
    """Observe the pixels where `mask` is 1: A x = mask * x (the unobserved pixels read 0).

    Args:
        mask: 0/1 tensor broadcastable to the images, (H, W), (1, 1, H, W) or (B, 1, H, W).
    """

    def __init__(self, mask: Tensor) -> None:
        mask = check_tensor(mask, "mask")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold only 0 (missing) and 1 (observed)")
        self.mask = mask.float() if mask.dim() != 2 else mask.float()[None, None]

    def measure(self, x: Tensor) -> Tensor:
        x = self.check_images(x)
        return x * self.mask.to(x)

    def lift(self, y: Tensor) -> Tensor:
        return y * self.mask.to(y)


class BlockAverage(LinearMeasurement):
    """Super-resolution's measurement: the mean of each `factor` x `factor` block,
    (B, C, H, W) -> (B, C, H / factor, W / factor). A^+ repeats each mean over its block."""

    def __init__(self, factor: int) -> None:
        self.factor = check_int(factor, "factor", minimum=1)

    def measure(self, x: Tensor) -> Tensor:
        x = self.check_images(x)
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(f"the image size {tuple(x.shape[-2:])} must be a multiple of "
                             f"factor = {self.factor}")
        return F.avg_pool2d(x, self.factor)

    def lift(self, y: Tensor) -> Tensor:
        return y.repeat_interleave(self.factor, -2).repeat_interleave(self.factor, -1)


def _prepare(model: GaussianDiffusion, operator: LinearMeasurement, y: Tensor,
             steps: int | None) -> tuple[Tensor, list[int]]:
    if not isinstance(model, GaussianDiffusion):
        raise TypeError(f"model must be a GaussianDiffusion; got {type(model).__name__}")
    if not isinstance(operator, LinearMeasurement):
        raise TypeError("operator must be a LinearMeasurement (Inpainting, BlockAverage); "
                        f"got {type(operator).__name__}")
    y = check_tensor(y, "y")
    expected = operator.measure(torch.zeros(1, *model.event_shape)).shape[1:]
    if y.dim() != len(expected) + 1 or y.shape[1:] != expected:
        raise ValueError(f"y must be measurements of shape (B, {', '.join(map(str, expected))})"
                         f" (the operator applied to images {model.event_shape}); got "
                         f"{tuple(y.shape)}")
    if not bool(torch.isfinite(y).all()):
        raise ValueError("y must be finite")
    # levels -> [-1, 1] is affine and A is linear with A(1) = 1 where it looks, so the
    # measurement of the scaled image is the scaled measurement
    y_model = model.to_model_space(y.to(model.device, model.dtype_anchor.dtype))
    return y_model, model.timestep_sequence(steps)


def _reverse_step(model: GaussianDiffusion, x: Tensor, x0: Tensor, eps: Tensor, a: Tensor,
                  a_next: Tensor, generator: torch.Generator | None) -> Tensor:
    """One ancestral step from x_t to x_{t'} (DDIM with eta = 1; with all T steps this is
    DDPM's step with the posterior variance)."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return model.ddim_update(x0, eps, a, a_next, 1.0, noise)


def _denoise(model: GaussianDiffusion, x: Tensor, step: int, c: Tensor | int | None,
             guidance: float) -> tuple[Tensor, Tensor, Tensor]:
    t = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
    return model.sampling_prediction(x, t, c, guidance=guidance)


def _alpha_bar(model: GaussianDiffusion, step: int, like: Tensor) -> Tensor:
    t = torch.full((like.shape[0],), step, dtype=torch.long, device=like.device)
    return model.schedule.gather("alphas_cumprod", t, like)


def replacement_sample(model: GaussianDiffusion, operator: LinearMeasurement, y: Tensor, *,
                       resample: int = 1, steps: int | None = None,
                       c: Tensor | int | None = None, guidance: float = 0.0,
                       generator: torch.Generator | None = None) -> Tensor:
    """Posterior samples x ~ p(x | A x = y) by replacement (RePaint / ILVR), on grey levels.

    Args:
        model: a trained `GaussianDiffusion` on grey levels.
        operator: the measurement A.
        y: noiseless measurements A(x) of images on grey levels, (B, *A's output shape).
        resample: RePaint's U: each step is repeated U times, re-noising x_{t-1} back to x_t
            in between, so the generated part can adapt to the replaced one (1: plain
            replacement).
        steps: reverse steps (None: all T).
        c, guidance: a label and classifier-free guidance, as in `GaussianDiffusion.sample`.

    Shapes:
        y: (B, ...) -> (B, *model.event_shape)
    """
    resample = check_int(resample, "resample", minimum=1)
    y_model, sequence = _prepare(model, operator, y, steps)
    target = operator.lift(y_model)
    n = y_model.shape[0]
    with torch.no_grad():
        x = torch.randn((n, *model.event_shape), generator=generator, device=y_model.device,
                        dtype=y_model.dtype)
        for i, step in enumerate(sequence):
            following = sequence[i + 1] if i + 1 < len(sequence) else 0
            for u in range(resample):
                eps, x0, a = _denoise(model, x, step, c, guidance)
                if following == 0:
                    x = operator.project(x0, y_model)
                    break
                a_next = _alpha_bar(model, following, x)
                x_next = _reverse_step(model, x, x0, eps, a, a_next, generator)
                noise = torch.randn(x.shape, generator=generator, device=x.device,
                                    dtype=x.dtype)
                known = a_next.sqrt() * target + (1 - a_next).sqrt() * noise
                x_next = operator.project(x_next, operator.measure(known))
                if u + 1 < resample:  # jump back: x_t ~ q(x_t | x_{t'}), then redo the step
                    ratio = a / a_next
                    noise = torch.randn(x.shape, generator=generator, device=x.device,
                                        dtype=x.dtype)
                    x = ratio.sqrt() * x_next + (1 - ratio).sqrt() * noise
                else:
                    x = x_next
    return model.to_data_space(x)


def dps_sample(model: GaussianDiffusion, operator: LinearMeasurement, y: Tensor, *,
               step_size: float = 1.0, steps: int | None = None,
               c: Tensor | int | None = None, guidance: float = 0.0,
               generator: torch.Generator | None = None) -> Tensor:
    """Posterior samples by diffusion posterior sampling (Chung et al. 2023), on grey levels.

    After each ancestral step, x_{t'} -= step_size * grad_{x_t} ||y - A(x0_hat(x_t))||_2
    (in [-1, 1] units). Chung et al. step by zeta' / ||r|| * grad ||r||^2 = 2 zeta' grad ||r||
    with r = y - A x0_hat, so step_size = 2 zeta'. A larger step
    follows y more closely at the risk of leaving the model's data manifold.

    Args:
        model, operator, steps, c, guidance, generator: as in `replacement_sample`.
        y: measurements A(x) + noise of images on grey levels, (B, *A's output shape).
        step_size: the guidance scale zeta (> 0).

    Shapes:
        y: (B, ...) -> (B, *model.event_shape)
    """
    step_size = check_nonnegative(step_size, "step_size")
    y_model, sequence = _prepare(model, operator, y, steps)
    n = y_model.shape[0]
    x = torch.randn((n, *model.event_shape), generator=generator, device=y_model.device,
                    dtype=y_model.dtype)
    for i, step in enumerate(sequence):
        following = sequence[i + 1] if i + 1 < len(sequence) else 0
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            eps, x0, a = _denoise(model, x, step, c, guidance)
            residual = (y_model - operator.measure(x0)).flatten(1).norm(dim=1)
            (grad,) = torch.autograd.grad(residual.sum(), x)
        with torch.no_grad():
            if following == 0:
                x = x0 - step_size * grad
                break
            a_next = _alpha_bar(model, following, x)
            x = _reverse_step(model, x, x0.detach(), eps.detach(), a, a_next, generator)
            x = x - step_size * grad
    return model.to_data_space(x.detach())
