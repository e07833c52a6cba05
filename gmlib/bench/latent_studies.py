"""Lecture 16's study: flow matching on pixels against flow matching on an autoencoder's
code, at about the same training time, three training seeds.

Both arms are the leaderboard's entries, trained with a different seed each run: `pixel` is
`flow-matching` (the U-Net on the 64 pixels, 100 epochs) and `latent` is
`latent-flow-matching` (an MLP autoencoder with an 8-number code, then an MLP velocity on
the code, trained for about as long). Each run reports the training seconds, the sample
metrics of 1000 samples from 50 midpoint steps (100 network evaluations) and the seconds
those samples took, all on the measuring machine.
"""

from __future__ import annotations

import torch

from gmlib.bench.core import context, fit_entry, get_entry
from gmlib.bench.quality import timed_digit_quality
from gmlib.bench.studies import Study, register_study

__all__ = ["ARM_ENTRIES"]

ARM_ENTRIES = {"pixel": "flow-matching", "latent": "latent-flow-matching"}
METRICS = ("fdd", "precision", "recall", "sample_seconds")


def _run(arm: str, seed: int) -> dict[str, float]:
    entry = get_entry(ARM_ENTRIES[arm])
    ctx = context(entry.track, seed=seed)
    model, seconds = fit_entry(entry, ctx)  # seeded and timed as the leaderboard does
    torch.manual_seed(seed)
    scores = timed_digit_quality(model, ctx)
    return {"train_seconds": seconds, **{key: scores[key] for key in METRICS}}


register_study(Study(
    name="latent-vs-pixel", lecture="16",
    question="At about the same training time, does flow matching on an autoencoder's code "
             "give better samples, faster, than flow matching on the pixels?",
    arms=tuple(ARM_ENTRIES), run=_run))
