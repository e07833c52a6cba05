"""Exact denoisers and velocity fields for Gaussian data, the known optima that the tests and
the lecture compare the learned networks and the bound's terms with.

For data x_0 ~ N(m, v) (per coordinate) and x_t = sqrt(a) x_0 + sqrt(1 - a) eps,
E[x_0 | x_t] = m + sqrt(a) v / (a v + 1 - a) (x_t - sqrt(a) m), with posterior variance
v (1 - a) / (a v + 1 - a). For the straight path x_t = (1 - t) x_0 + t x_1 with x_0 ~ N(0, 1)
and x_1 ~ N(m, v), E[x_1 - x_0 | x_t] = m + (t v - (1 - t)) / ((1 - t)^2 + t^2 v) (x_t - t m).
"""

from __future__ import annotations

from torch import Tensor, nn

from gmlib.diffusion.schedules import NoiseSchedule

__all__ = ["GaussianDataDenoiser", "GaussianDataVelocity", "gaussian_posterior_variance"]


def gaussian_posterior_variance(var: float, alpha_bar: Tensor) -> Tensor:
    """Var[x_0 | x_t] for data N(m, var): the error of the best possible denoiser."""
    return var * (1 - alpha_bar) / (alpha_bar * var + 1 - alpha_bar)


class GaussianDataDenoiser(nn.Module):
    """The optimal noise prediction for data N(mean, var), as a `denoiser(x_t, t, c)` module.

    Args:
        mean, var: the data's mean and variance (the same for every coordinate).
        schedule: the diffusion's schedule (t * T is mapped back to the step).
    """

    def __init__(self, mean: float, var: float, schedule: NoiseSchedule) -> None:
        super().__init__()
        self.mean, self.var, self.schedule = float(mean), float(var), schedule

    def forward(self, x_t: Tensor, t: Tensor, c: Tensor | None = None) -> Tensor:
        step = (t * self.schedule.timesteps).round().long()
        a = self.schedule.gather("alphas_cumprod", step, x_t)
        x0 = self.mean + a.sqrt() * self.var / (a * self.var + 1 - a) * (x_t - a.sqrt() * self.mean)
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt()


class GaussianDataVelocity(nn.Module):
    """The marginal velocity of the straight path from N(0, 1) to data N(mean, var)."""

    def __init__(self, mean: float, var: float) -> None:
        super().__init__()
        self.mean, self.var = float(mean), float(var)

    def forward(self, x: Tensor, t: Tensor, c: Tensor | None = None) -> Tensor:
        t = t.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        gain = (t * self.var - (1 - t)) / ((1 - t) ** 2 + t ** 2 * self.var)
        return self.mean + gain * (x - t * self.mean)
