"""A sanity table for the sample metrics: sample sets whose order of quality is known.

A metric that ranks these wrongly cannot be trusted to rank models (Theis et al. 2016 show
how sample metrics mislead; Naeem et al. 2020 build such tables for precision/recall):

1. "held-out real": the 1000 training digits, real images the feature network never saw;
2. "noisy real": the same digits with independent integer noise in [-3, 3] on every pixel,
   clamped to 0..16 (still legible: a slightly worse "model");
3. "independent pixels": 1000 samples of the per-pixel categorical fitted to those digits
   (the right marginals, no strokes);
4. "uniform noise": 1000 images of uniform grey levels.

Each row is scored against the 447 test digits exactly as a bench entry is (1000 samples).
Recall (Kynkaanniemi et al. 2019) is known to fail between rows 1 and 2: noise spreads the
samples, their k-NN balls grow, and the grown balls cover the real points; density and
coverage use the real points' balls only and do not (`gmlib.metrics.density_coverage`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.data import DIGITS_LEVELS, digits
from gmlib.independent import IndependentCategorical
from gmlib.metrics.classifier import DigitClassifier, digit_classifier
from gmlib.metrics.sample_quality import SampleQuality, sample_quality
from gmlib.utils import seed_everything
from gmlib.validation import check_positive_int

__all__ = ["NOISE_AMPLITUDE", "SANITY_ROWS", "metric_sanity_table", "sanity_samples"]

SANITY_ROWS = ("held-out real", "noisy real", "independent pixels", "uniform noise")
NOISE_AMPLITUDE = 3
N_SAMPLES = 1000
LEVELS = DIGITS_LEVELS


def sanity_samples(seed: int) -> dict[str, Tensor]:
    """The four sample sets of the table, (1000, 1, 8, 8) grey levels each, for one seed
    (the held-out real digits are the same for every seed)."""
    real = digits("train")
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randint(-NOISE_AMPLITUDE, NOISE_AMPLITUDE + 1, real.shape, generator=generator)
    seed_everything(seed)
    independent = IndependentCategorical(tuple(real.shape[1:]), LEVELS).fit(real)
    uniform = torch.randint(0, LEVELS, real.shape, generator=generator)
    return {"held-out real": real,
            "noisy real": (real + noise).clamp(0, LEVELS - 1),
            "independent pixels": independent.sample(N_SAMPLES).float(),
            "uniform noise": uniform.float()}


def metric_sanity_table(seeds: int = 3, *, classifier: DigitClassifier | None = None
                        ) -> dict[str, list[SampleQuality]]:
    """Score the four sample sets of `sanity_samples` for seeds 0 .. `seeds` - 1.

    Returns:
        {row name: [SampleQuality per seed]} in the order of `SANITY_ROWS`.
    """
    check_positive_int(seeds, "seeds")
    classifier = digit_classifier() if classifier is None else classifier
    table: dict[str, list[SampleQuality]] = {name: [] for name in SANITY_ROWS}
    for seed in range(seeds):
        for name, samples in sanity_samples(seed).items():
            table[name].append(sample_quality(samples, "test", classifier=classifier))
    return table
