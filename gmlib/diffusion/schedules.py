"""Noise schedules of the discrete-time Gaussian diffusion, as float64 buffers.

A schedule fixes beta_1..beta_T, the variances of the forward steps
q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I). Everything else follows from
alpha_bar_t = prod_{s <= t} (1 - beta_s): q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0,
(1 - alpha_bar_t) I) and the signal-to-noise ratio SNR(t) = alpha_bar_t / (1 - alpha_bar_t).
The products of a thousand factors close to 1 lose digits in float32, so the buffers are
computed and kept in float64 and cast to the input's dtype when they are read.

References:
    Ho et al. 2020, Denoising diffusion probabilistic models, https://arxiv.org/abs/2006.11239
    Nichol & Dhariwal 2021, Improved denoising diffusion probabilistic models,
    https://arxiv.org/abs/2102.09672
    Kingma et al. 2021, Variational diffusion models, https://arxiv.org/abs/2107.00630
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gmlib.validation import check_int

__all__ = ["SCHEDULES", "NoiseSchedule", "cosine_betas", "linear_betas", "log_snr_betas",
           "make_schedule"]


def linear_betas(timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """DDPM's schedule: beta_t linear from `beta_start` to `beta_end` (Ho et al. 2020), for
    T = 1000; for other T the end points are rescaled by 1000 / T so the total noise matches
    (capped at 0.999 for very short chains).

    Shapes:
        returns (T,) float64
    """
    scale = 1000 / timesteps
    betas = torch.linspace(beta_start * scale, beta_end * scale, timesteps, dtype=torch.float64)
    return betas.clamp(max=0.999)


def _betas_from_alpha_bar(alpha_bar: Tensor, max_beta: float = 0.999) -> Tensor:
    previous = torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]])
    return (1 - alpha_bar / previous).clamp(max=max_beta)


def cosine_betas(timesteps: int, offset: float = 0.008) -> Tensor:
    """Nichol & Dhariwal's schedule: alpha_bar(t) = cos^2(pi/2 (t/T + s) / (1 + s)),
    normalised to alpha_bar(0) = 1, with beta_t clipped at 0.999 near t = T.

    Shapes:
        returns (T,) float64
    """
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return _betas_from_alpha_bar(f[1:] / f[0])


def log_snr_betas(timesteps: int, log_snr_max: float = 7.0, log_snr_min: float = -8.0) -> Tensor:
    """Log-SNR falling linearly in t from `log_snr_max` to `log_snr_min`, the fixed schedule of
    Kingma et al. 2021. Every step then carries the same share of log-SNR, which is the
    weighting of the variational bound when the loss is the plain noise-prediction error.

    Shapes:
        returns (T,) float64
    """
    t = torch.arange(1, timesteps + 1, dtype=torch.float64) / timesteps
    log_snr = log_snr_max + (log_snr_min - log_snr_max) * t
    return _betas_from_alpha_bar(torch.sigmoid(log_snr))


SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas, "log-snr": log_snr_betas}


class NoiseSchedule(nn.Module):
    """The forward process's constants, one value per step t = 1..T (index t - 1).

    Args:
        betas: (T,) forward variances in (0, 1).

    Attributes (float64 buffers, shape (T,)):
        betas, alphas = 1 - betas, alphas_cumprod (alpha_bar_t), alphas_cumprod_prev
        (alpha_bar_{t-1}, with alpha_bar_0 = 1), posterior_variance (beta_tilde_t =
        beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)), log_snr.
    """

    def __init__(self, betas: Tensor) -> None:
        super().__init__()
        betas = torch.as_tensor(betas, dtype=torch.float64).detach().cpu()
        if betas.dim() != 1 or len(betas) < 1:
            raise ValueError(f"betas must have shape (T,) with T >= 1; got {tuple(betas.shape)}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must lie in (0, 1); got values from "
                             f"{betas.min().item():g} to {betas.max().item():g}")
        alphas = 1 - betas
        alphas_cumprod = torch.cumprod(alphas, 0)
        prev = torch.cat([betas.new_ones(1), alphas_cumprod[:-1]])
        self.register_buffer("betas", betas)
        self.register_buffer("alphas", alphas)
        self.register_buffer("alphas_cumprod", alphas_cumprod)
        self.register_buffer("alphas_cumprod_prev", prev)
        self.register_buffer("posterior_variance", betas * (1 - prev) / (1 - alphas_cumprod))
        self.register_buffer("log_snr", torch.log(alphas_cumprod) - torch.log1p(-alphas_cumprod))

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    def gather(self, name: str, t: Tensor, like: Tensor) -> Tensor:
        """The buffer `name` at steps `t` (1..T), cast to `like`'s dtype and shaped to
        broadcast against it.

        Shapes:
            t: (B,) ints in 1..T, like: (B, *event) -> (B, 1, ..., 1)
        """
        values = getattr(self, name).to(like.device)[t.to(like.device) - 1]
        return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def make_schedule(schedule: str | NoiseSchedule, timesteps: int = 1000) -> NoiseSchedule:
    """A `NoiseSchedule` by name ("linear", "cosine" or "log-snr") with `timesteps` steps."""
    if isinstance(schedule, NoiseSchedule):
        return schedule
    check_int(timesteps, "timesteps", minimum=1)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {sorted(SCHEDULES)} or a NoiseSchedule; "
                         f"got {schedule!r}")
    return NoiseSchedule(SCHEDULES[schedule](timesteps))
