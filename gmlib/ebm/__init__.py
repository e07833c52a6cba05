"""Energy-based models and score matching (lecture 10).

* `energy`: `EnergyModel` (contrastive divergence with short-run Langevin and a replay
  buffer) and the exact 2-D partition function by grid integration.
* `samplers`: Langevin dynamics, the replay buffer and annealed Langevin.
* `score_matching`: exact (Hyvarinen), sliced and denoising score-matching losses.
* `ncsn`: `NoiseConditionalScoreModel`, scores at many noise levels sampled by annealed
  Langevin.
"""

from __future__ import annotations

from gmlib.ebm.energy import EnergyModel, grid_points, log_partition_on_grid
from gmlib.ebm.ncsn import NoiseConditionalScoreModel, geometric_sigmas
from gmlib.ebm.samplers import ReplayBuffer, annealed_langevin, energy_score, langevin
from gmlib.ebm.score_matching import (
    denoising_score_matching_loss,
    exact_score_matching_loss,
    sliced_score_matching_loss,
)

__all__ = ["EnergyModel", "NoiseConditionalScoreModel", "ReplayBuffer", "annealed_langevin",
           "denoising_score_matching_loss", "energy_score", "exact_score_matching_loss",
           "geometric_sigmas", "grid_points", "langevin", "log_partition_on_grid",
           "sliced_score_matching_loss"]
