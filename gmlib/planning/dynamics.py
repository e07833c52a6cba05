"""`GaussianDynamics`: a learned conditional density p(s' | s, a) for model-based planning.

p(s' | s, a) = N(s + mu(s, a), diag sigma(s, a)^2), with mu and log sigma from one MLP: a
heteroscedastic Gaussian, the model of PETS (Chua et al. 2018) without the ensemble. Trained
by maximum likelihood on observed transitions; `sample` gives the stochastic rollouts a
planner averages over.

Reference:
    Chua et al. 2018, Deep reinforcement learning in a handful of trials using probabilistic
    dynamics models, https://arxiv.org/abs/1805.12114
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gmlib.base import DensityModel, Support
from gmlib.exceptions import ConditionError
from gmlib.planning.normal import normal_draw, normal_log_prob
from gmlib.validation import check_positive_int, check_tensor

__all__ = ["GaussianDynamics"]


class GaussianDynamics(DensityModel):
    """p(s' | s, a): the state s' is the observation x, the condition c = [s, a] is (B, S + A).

    Args:
        state_dim, action_dim: sizes S and A.
        hidden: width of the two hidden layers.

    Shapes:
        log_prob(x, c=c): x (B, S), c (B, S + A) -> (B,); predict(s, a) -> s' (B, S)
    """

    def __init__(self, state_dim: int, action_dim: int, *, hidden: int = 64) -> None:
        self.state_dim = check_positive_int(state_dim, "state_dim")
        self.action_dim = check_positive_int(action_dim, "action_dim")
        super().__init__((self.state_dim,), Support.real())
        self.net = nn.Sequential(
            nn.Linear(self.state_dim + self.action_dim, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2 * self.state_dim))

    def _check_condition(self, c: Tensor | None, batch: int) -> Tensor:
        width = self.state_dim + self.action_dim
        if c is None:
            raise ConditionError(f"GaussianDynamics needs its condition c = [s, a] of shape "
                            f"({batch}, {width})")
        check_tensor(c, "c")
        if c.shape != (batch, width):
            raise ValueError(f"c must be [s, a] of shape ({batch}, {width}); got "
                             f"{tuple(c.shape)}")
        return c.to(self.device)

    def mean_and_std(self, c: Tensor) -> tuple[Tensor, Tensor]:
        """The predicted Gaussian of s' given c = [s, a]: mean and std, each (B, S)."""
        out = self.net(c)
        delta, log_std = out.chunk(2, dim=1)
        # a soft floor and ceiling keep the likelihood finite on near-deterministic moves
        log_std = log_std.clamp(-7.0, 2.0)
        return c[:, : self.state_dim] + delta, log_std.exp()

    def _log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # type: ignore[override]
        mean, std = self.mean_and_std(self._check_condition(c, x.shape[0]))
        return normal_log_prob(x, mean, std)

    @property
    def is_conditional(self) -> bool:
        return True

    def _sample(self, n: int, c: Tensor | None = None, *,  # type: ignore[override]
                generator: torch.Generator | None = None) -> Tensor:
        mean, std = self.mean_and_std(self._check_condition(c, n))
        return normal_draw(mean, std, generator)

    def step(self, s: Tensor, a: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A draw of s' ~ p(s' | s, a) for states (B, S) and actions (B, A)."""
        return self.sample(s.shape[0], c=torch.cat([s, a], 1), generator=generator)
