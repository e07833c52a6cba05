"""`SwampCrossing`: a 2-D navigation task with state-dependent, stochastic dynamics.

The agent at s = (x, y) moves by `speed * a` for an action a in [-1, 1]^2, slowed down and
shaken inside a round swamp of radius `radius` at the origin:

    s' = s + speed * (1 - drag * m(s)) * a + (noise + turbulence * m(s)) * eps,
    m(s) = exp(-(||s|| / radius)^2),  eps ~ N(0, I).

Start (-1, 0), goal (1, 0), reward -||s' - goal|| per step. The straight line crosses the
swamp: a planner that does not know the swamp walks in and crawls; one that knows it walks
round. The reward never mentions the swamp, so only the dynamics model can tell the planner.
The dynamics are a known Gaussian, so a learned model's log-likelihood can be compared with
the truth's (the best any model can do, in expectation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gmlib.planning.normal import normal_draw, normal_log_prob
from gmlib.validation import check_positive_int, check_tensor

__all__ = ["SwampCrossing"]


@dataclass(frozen=True)
class SwampCrossing:
    """The task's constants; every method works on batches of states (B, 2)."""

    speed: float = 0.15
    drag: float = 0.9
    radius: float = 0.5
    noise: float = 0.01
    turbulence: float = 0.02
    start: tuple[float, float] = (-1.0, 0.0)
    goal: tuple[float, float] = (1.0, 0.0)

    state_dim = 2
    action_dim = 2

    def swamp(self, s: Tensor) -> Tensor:
        """m(s), 1 in the swamp's middle and 0 well outside it, shape (B, 1)."""
        return torch.exp(-(s.norm(dim=1, keepdim=True) / self.radius) ** 2)

    def check(self, s: Tensor, a: Tensor | None = None) -> None:
        for name, value in (("s", s), ("a", a)):
            if value is None:
                continue
            check_tensor(value, name)
            if value.dim() != 2 or value.shape[1] != 2:
                raise ValueError(f"{name} must have shape (B, 2); got {tuple(value.shape)}")
        if a is not None and a.shape[0] != s.shape[0]:
            raise ValueError(f"s and a must hold the same number of rows; got {s.shape[0]} "
                             f"and {a.shape[0]}")

    def mean_and_std(self, s: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """The true p(s' | s, a) = N(mean, diag(std^2)); a is clipped to [-1, 1].

        Shapes:
            s, a: (B, 2) -> mean (B, 2), std (B, 2)
        """
        self.check(s, a)
        swamp = self.swamp(s)
        mean = s + self.speed * (1 - self.drag * swamp) * a.clamp(-1, 1)
        return mean, (self.noise + self.turbulence * swamp).expand_as(mean)

    def step(self, s: Tensor, a: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A draw of s' ~ p(s' | s, a), shape (B, 2)."""
        mean, std = self.mean_and_std(s, a)
        return normal_draw(mean, std, generator)

    def log_prob(self, s_next: Tensor, s: Tensor, a: Tensor) -> Tensor:
        """The true log p(s' | s, a) in nats, shape (B,)."""
        mean, std = self.mean_and_std(s, a)
        self.check(s_next)
        return normal_log_prob(s_next, mean, std)

    def reward(self, s: Tensor) -> Tensor:
        """-||s - goal||, shape (B,) (or (..., ) for states (..., 2))."""
        return -(s - torch.tensor(self.goal, dtype=s.dtype, device=s.device)).norm(dim=-1)

    def start_states(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """`n` copies of the start state, (n, 2)."""
        check_positive_int(n, "n")
        return torch.tensor(self.start, device=device).expand(n, 2).clone()

    def random_transitions(self, n: int, generator: torch.Generator | None = None
                           ) -> tuple[Tensor, Tensor, Tensor]:
        """`n` transitions (s, a, s') with s uniform on [-1.25, 1.25] x [-1, 1] and a uniform
        on [-1, 1]^2: the exploration data a dynamics model learns from."""
        check_positive_int(n, "n")
        s = (torch.rand(n, 2, generator=generator) * 2 - 1) * torch.tensor([1.25, 1.0])
        a = torch.rand(n, 2, generator=generator) * 2 - 1
        return s, a, self.step(s, a, generator)
