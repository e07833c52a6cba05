"""Model-based planning with a learned generative model of dynamics (lecture 13).

* `swamp`: `SwampCrossing`, a 2-D toy task whose true dynamics p(s' | s, a) are known in
  closed form (a Gaussian whose drift and noise depend on the state).
* `dynamics`: `GaussianDynamics`, a conditional density model p(s' | s, a) learned from
  transitions by maximum likelihood.
* `shooting`: model-predictive control with random shooting or the cross-entropy method,
  planning through any model's sampled rollouts; `run_episodes` scores a policy.
"""

from __future__ import annotations

from gmlib.planning.dynamics import GaussianDynamics
from gmlib.planning.shooting import Dynamics, cem_policy, random_policy, run_episodes
from gmlib.planning.swamp import SwampCrossing

__all__ = ["Dynamics", "GaussianDynamics", "SwampCrossing", "cem_policy", "random_policy",
           "run_episodes"]
