"""Model-predictive control by shooting: plan through a dynamics model, act, re-plan.

At every step the planner draws candidate action sequences a_{1:H}, rolls each one out
through the model's p(s' | s, a) (one sampled trajectory per candidate), scores it by the sum
of rewards along the way and executes the first action of the best. Random shooting scores
one batch of candidates; the cross-entropy method (CEM) refits a Gaussian to the best
`elites` candidates and samples again, `iterations` times (Rubinstein 1999; as used by PETS,
Chua et al. 2018). The same planner runs on the true dynamics, the learned model or a wrong
model, so their returns compare the models and nothing else.

References:
    Rubinstein 1999, The cross-entropy method for combinatorial and continuous
    optimization, https://doi.org/10.1023/A:1010091220143
    Chua et al. 2018, https://arxiv.org/abs/1805.12114
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from gmlib.validation import check_int, check_positive_int

__all__ = ["Dynamics", "Policy", "cem_policy", "random_policy", "run_episodes"]

Policy = Callable[[Tensor, torch.Generator | None], Tensor]


class Dynamics(Protocol):
    """Anything that draws s' ~ p(s' | s, a) for states (B, S) and actions (B, A)."""

    def step(self, s: Tensor, a: Tensor, generator: torch.Generator | None = None) -> Tensor:
        ...


def random_policy(action_dim: int = 2) -> Policy:
    """Uniform actions on [-1, 1]^A, ignoring the state."""
    check_positive_int(action_dim, "action_dim")

    def act(s: Tensor, generator: torch.Generator | None = None) -> Tensor:
        a = torch.rand(s.shape[0], action_dim, generator=generator) * 2 - 1
        return a.to(s)

    return act


def cem_policy(model: Dynamics, reward: Callable[[Tensor], Tensor], *, action_dim: int = 2,
               horizon: int = 10, population: int = 100, elites: int = 10,
               iterations: int = 3, init_std: float = 0.6) -> Policy:
    """An MPC policy planning with `model` by CEM (`iterations=1, elites=1`: random shooting).

    Args:
        model: the dynamics the planner believes, with `step(s, a, generator)`.
        reward: r(s) for states (..., S) -> (...,).
        horizon: H, the planned steps; population: candidates per iteration; elites: the
            best candidates the Gaussian is refitted to; init_std: the first Gaussian's std.

    Returns:
        act(s, generator) -> the first planned action (B, A) for each state in s (B, S).
    """
    for name, value in (("horizon", horizon), ("population", population),
                        ("elites", elites), ("iterations", iterations)):
        check_int(value, name, minimum=1)
    if elites > population:
        raise ValueError(f"elites ({elites}) must be at most population ({population})")

    def rollout_returns(s: Tensor, actions: Tensor, generator: torch.Generator | None
                        ) -> Tensor:
        b, n = actions.shape[:2]  # actions (B, N, H, A) -> returns (B, N)
        state = s.repeat_interleave(n, 0)
        total = torch.zeros(b * n, dtype=s.dtype, device=s.device)
        for k in range(horizon):
            state = model.step(state, actions[:, :, k].reshape(b * n, -1), generator)
            total = total + reward(state)
        return total.view(b, n)

    plan: list[Tensor] = []  # the last plan's mean, shifted by one step to warm-start

    def act(s: Tensor, generator: torch.Generator | None = None) -> Tensor:
        b = s.shape[0]
        mean = torch.zeros(b, 1, horizon, action_dim, dtype=s.dtype, device=s.device)
        if plan and plan[0].shape == mean.shape:
            mean[:, :, :-1] = plan[0][:, :, 1:]
        std = torch.full_like(mean, init_std)
        with torch.no_grad():
            for _ in range(iterations):
                noise = torch.randn(b, population, horizon, action_dim, generator=generator,
                                    dtype=s.dtype).to(s.device)
                actions = (mean + std * noise).clamp(-1, 1)
                best = rollout_returns(s, actions, generator).topk(elites, dim=1).indices
                chosen = actions.gather(1, best[:, :, None, None].expand(
                    -1, -1, horizon, action_dim))
                mean = chosen.mean(1, keepdim=True)
                if elites > 1:
                    std = chosen.std(1, keepdim=True, unbiased=False) + 1e-3
        plan[:] = [mean]
        return mean[:, 0, 0]

    return act


def run_episodes(env: Dynamics, policy: Policy, start: Tensor, reward: Callable[[Tensor],
                 Tensor], *, steps: int = 25, generator: torch.Generator | None = None
                 ) -> tuple[Tensor, Tensor]:
    """Run `policy` in the true `env` from each start state, all episodes in parallel.

    Returns:
        returns (B,), the summed rewards, and the trajectories (B, steps + 1, S).
    """
    check_positive_int(steps, "steps")
    states, total = [start], torch.zeros(start.shape[0], dtype=start.dtype)
    for _ in range(steps):
        s_next = env.step(states[-1], policy(states[-1], generator), generator)
        total = total + reward(s_next).to(total)
        states.append(s_next)
    return total, torch.stack(states, 1)
