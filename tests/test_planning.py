"""Model-based planning (`gmlib.planning`): the toy task's dynamics against its own density,
the learned dynamics model against the truth, CEM against a random policy, the errors."""

from __future__ import annotations

import pytest
import torch

from gmlib.planning import (
    GaussianDynamics,
    SwampCrossing,
    cem_policy,
    random_policy,
    run_episodes,
)
from gmlib.train import fit


def test_swamp_slows_and_shakes_the_agent_and_its_density_matches_its_draws():
    env = SwampCrossing()
    s = torch.tensor([[0.0, 0.0], [-1.0, 0.0]])
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    mean, std = env.mean_and_std(s, a)
    moved = (mean - s)[:, 0]
    assert moved[0] < 0.2 * moved[1]  # in the swamp's middle the same action moves ~1/10
    assert std[0, 0] > std[1, 0]
    draws = env.step(s.repeat(5000, 1), a.repeat(5000, 1), torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws.view(5000, 2, 2).mean(0), mean, atol=2e-3, rtol=0)
    # log_prob is the density the draws come from: its mean is minus the entropy
    entropy = (0.5 * torch.log(2 * torch.pi * torch.e * std ** 2)).sum(1)
    logp = env.log_prob(draws, s.repeat(5000, 1), a.repeat(5000, 1)).view(5000, 2).mean(0)
    torch.testing.assert_close(-logp, entropy, atol=0.05, rtol=0)


def test_learned_dynamics_approach_the_true_likelihood():
    env = SwampCrossing(drag=0.0, turbulence=0.0, noise=0.05)  # linear-Gaussian dynamics
    g = torch.Generator().manual_seed(0)
    s, a, s_next = env.random_transitions(2000, g)
    model = GaussianDynamics(2, 2, hidden=32)
    fit(model, (s_next, torch.cat([s, a], 1)), epochs=40, lr=1e-2, batch_size=250,
        lr_schedule="cosine", seed=0, progress=False)
    s, a, s_next = env.random_transitions(1000, g)
    with torch.no_grad():
        learned = float(-model.log_prob(s_next, c=torch.cat([s, a], 1)).mean())
    true = float(-env.log_prob(s_next, s, a).mean())
    assert true <= learned + 0.05 and learned < true + 0.15
    draws = model.step(s, a, torch.Generator().manual_seed(1))
    assert draws.shape == (1000, 2)


def test_cem_reaches_the_goal_and_beats_a_random_policy():
    env = SwampCrossing()
    start = env.start_states(4)
    planner = cem_policy(env, env.reward, horizon=15, population=100, elites=10)
    planned, path = run_episodes(env, planner, start, env.reward,
                                 generator=torch.Generator().manual_seed(0))
    random, _ = run_episodes(env, random_policy(), start, env.reward,
                             generator=torch.Generator().manual_seed(0))
    assert path.shape == (4, 26, 2)
    assert float((path[:, -1] - torch.tensor(env.goal)).norm(dim=1).max()) < 0.2
    assert float(planned.mean()) > float(random.mean()) + 20
    # with the true dynamics the planner walks round the swamp, not through it
    assert float(env.swamp(path.reshape(-1, 2)).max()) < 0.5


def test_bad_input_gets_a_clear_error():
    env = SwampCrossing()
    with pytest.raises(ValueError, match=r"s must have shape \(B, 2\)"):
        env.step(torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        env.mean_and_std(torch.zeros(3, 2), torch.zeros(2, 2))
    model = GaussianDynamics(2, 2)
    with pytest.raises(TypeError, match="needs its condition"):
        model.log_prob(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"c must be \[s, a\] of shape \(3, 4\)"):
        model.log_prob(torch.zeros(3, 2), c=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="elites"):
        cem_policy(env, env.reward, population=5, elites=10)
    with pytest.raises(ValueError, match="horizon"):
        cem_policy(env, env.reward, horizon=0)
