"""`EnergyModel`: p(x) = exp(-E(x)) / Z with a neural energy, trained by contrastive
divergence with short-run Langevin chains restarted from a replay buffer.

The gradient of the log-likelihood is -grad E(x_data) + E_p[grad E(x)]: the data's energy is
pushed down and the energy of the model's own samples pushed up. The samples come from short
Langevin chains, so the loss is contrastive divergence (Hinton 2002) rather than exact maximum
likelihood; the chains persist through a replay buffer (Tieleman 2008; Du & Mordatch 2019).
Z is intractable in general; in two dimensions `log_partition_on_grid` computes it, so the
learned density can be normalised, plotted and compared with the truth.

References:
    Hinton 2002, Training products of experts by minimizing contrastive divergence,
    https://doi.org/10.1162/089976602760128018
    Tieleman 2008, Training restricted Boltzmann machines using approximations to the
    likelihood gradient, https://doi.org/10.1145/1390156.1390290
    Du & Mordatch 2019, Implicit generation and modeling with energy based models,
    https://arxiv.org/abs/1903.08689
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.draws import seeded_by
from gmlib.ebm.samplers import ReplayBuffer, energy_score, langevin
from gmlib.validation import check_int, check_nonnegative

__all__ = ["EnergyModel", "grid_points", "log_partition_on_grid"]


def grid_points(bounds: Sequence[float], resolution: int, *,
                dtype: torch.dtype = torch.float64) -> tuple[Tensor, float]:
    """Midpoints of a resolution x resolution grid over [x0, x1] x [y0, y1], and a cell's area.

    Shapes:
        returns (resolution ** 2, 2) points (row-major, y varying fastest), a float
    """
    x0, x1, y0, y1 = (float(b) for b in bounds)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"bounds must be (x0, x1, y0, y1) with x1 > x0 and y1 > y0; got {bounds}")
    n = check_int(resolution, "resolution", minimum=2)
    hx, hy = (x1 - x0) / n, (y1 - y0) / n
    xs = x0 + hx * (torch.arange(n, dtype=dtype) + 0.5)
    ys = y0 + hy * (torch.arange(n, dtype=dtype) + 0.5)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="ij"), dim=-1).reshape(-1, 2)
    return grid, hx * hy


def log_partition_on_grid(log_density: Callable[[Tensor], Tensor], bounds: Sequence[float],
                          resolution: int = 400, *, batch_size: int = 40_000) -> float:
    """log Z = log of the integral of exp(log_density) over a 2-D box, by the midpoint rule in
    float64 (log-sum-exp, so large energies do not overflow). The box must hold nearly all
    the mass: what lies outside is missed.
    """
    grid, area = grid_points(bounds, resolution)
    values = []
    for chunk in grid.split(batch_size):
        values.append(log_density(chunk).double().detach().cpu())
    return float(torch.logsumexp(torch.cat(values), 0)) + math.log(area)


class EnergyModel(GenerativeModel):
    """An energy network with a contrastive-divergence loss and a Langevin sampler.

    Args:
        energy_net: (B, *event) -> (B,) or (B, 1) energies.
        event_shape: shape of one example.
        init: n -> (n, *event) fresh chain starts (e.g. uniform over the data's box).
        n_steps, step_size, noise_scale: the short-run Langevin chain of each training step.
        buffer_size, reinit_prob: the replay buffer of chain ends.
        alpha: weight of the energy-magnitude penalty alpha (E(x+)^2 + E(x-)^2), which keeps
            the energies from drifting (Du & Mordatch 2019).

    Shapes:
        energy(x): (B, *event) -> (B,); loss(x) -> (B,); sample(n) -> (n, *event)
    """

    def __init__(self, energy_net: nn.Module, event_shape: Sequence[int], *,
                 init: Callable[[int], Tensor], n_steps: int = 20, step_size: float = 0.01,
                 noise_scale: float | None = None, buffer_size: int = 10_000,
                 reinit_prob: float = 0.05, alpha: float = 0.1) -> None:
        super().__init__(event_shape, Support.real())
        self.energy_net = energy_net
        self.init = init
        self.n_steps = check_int(n_steps, "n_steps", minimum=1)
        self.step_size = check_nonnegative(step_size, "step_size")
        self.noise_scale = noise_scale
        self.alpha = check_nonnegative(alpha, "alpha")
        self.buffer = ReplayBuffer(buffer_size, init, reinit_prob)

    def energy(self, x: Tensor) -> Tensor:
        """E(x) per example, shape (B,)."""
        out = self.energy_net(x)
        return out.reshape(len(x)) if out.dim() > 1 else out  # (B, 1) -> (B,), B = 0 too

    def unnormalized_log_prob(self, x: Tensor) -> Tensor:
        """-E(x) = log p(x) + log Z per example, shape (B,)."""
        return -self.energy(self.validate_input(x))

    def log_prob(self, x: Tensor, log_z: float | None = None) -> Tensor:
        """log p(x) = -E(x) - log Z, given log Z (e.g. from `log_partition_on_grid`); without
        it the normalising constant is unknown and this refuses."""
        if log_z is None:
            raise NotImplementedError(
                "an energy-based model's log Z is intractable; pass log_z, which for 2-D data "
                "log_partition_on_grid(model.unnormalized_log_prob, bounds) computes")
        return self.unnormalized_log_prob(x) - log_z

    def negatives(self, n: int) -> Tensor:
        """n short-run Langevin samples started from the replay buffer (which they update)."""
        start = self.buffer.draw(n).to(self.device)
        was_training = self.training
        self.eval()
        x = langevin(energy_score(self.energy), start, n_steps=self.n_steps,
                     step_size=self.step_size, noise_scale=self.noise_scale)
        self.train(was_training)
        self.buffer.store(x)
        return x

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Contrastive divergence per example: E(x_i) - E(x_i^-) + alpha (E(x_i)^2 +
        E(x_i^-)^2), with x^- from `negatives`."""
        self.check_condition(c)
        x = self.validate_input(x)
        if len(x) == 0:
            return self._empty_result(x)
        negative = self.negatives(x.shape[0]).to(x)
        energies = self.energy(torch.cat([x, negative]))
        pos, neg = energies.chunk(2)
        return pos - neg + self.alpha * (pos ** 2 + neg ** 2)

    def _sample(self, n: int, *, n_steps: int = 200, step_size: float | None = None,
                start: Tensor | None = None, generator: torch.Generator | None = None
                ) -> Tensor:
        """Langevin chains of `n_steps` from fresh `init` points (or `start`)."""
        with seeded_by(generator, self.device):
            x = self.init(n).to(self.device) if start is None else start
            return langevin(energy_score(self.energy), x, n_steps=n_steps,
                            step_size=self.step_size if step_size is None else step_size)
