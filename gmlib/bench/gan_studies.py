"""Lecture 09's studies: what removes mode collapse on the ring, and what growing buys.

* `gan-ring`: the ring of 8 Gaussians (radius 2, sd 0.05), MLP players, 2000 generator steps
  at 1e-3, batches of 256. The collapsing GAN gives its discriminator the step 1e-4; the
  fast-discriminator arm changes only that step (2e-3, the two time-scale rule). WGAN-GP's
  schedule (five discriminator steps per generator step, Adam betas (0.5, 0.9), the
  discriminator's step 1e-3: three settings at once) is run with the non-saturating loss
  and with the Wasserstein loss plus a gradient penalty of weight 1, so those two arms
  differ only in the loss. Measured by modes covered and the high-quality share of 5000
  samples.
* `gan-progressive`: the same `ProgressiveGAN` (width 16, 32 latents) trained for 1200
  generator steps either grown (400 steps at 4x4, a 400-step fade-in, 400 at 8x8) or at 8x8
  from the start; Adam at 1e-3 with linear decay, batches of 64. Measured by the FDD,
  precision and recall of 1000 samples against the test digits.
"""

from __future__ import annotations

from typing import Any

from gmlib.bench.quality import RING_STD
from gmlib.bench.studies import Study, register_study
from gmlib.data import digits, ring_modes, ring_of_gaussians
from gmlib.gans import GAN, MLPDiscriminator, MLPGenerator, ProgressiveGAN, train_gan
from gmlib.gans.progressive import train_progressive
from gmlib.metrics import mode_coverage, sample_quality
from gmlib.utils import seed_everything

__all__ = ["RING_ARMS", "RING_STEPS", "progressive_model", "ring_model"]

RING_STEPS = 2000
_RING_COMMON: dict[str, Any] = {"lr": 1e-3, "batch_size": 256}
_FIVE_STEPS: dict[str, Any] = {"n_critic": 5, "betas": (0.5, 0.9), "lr_discriminator": 1e-3}
# arm -> (GAN options, train_gan options)
RING_ARMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "slow discriminator": ({}, {"lr_discriminator": 1e-4}),
    "fast discriminator": ({}, {"lr_discriminator": 2e-3}),
    "5 discriminator steps": ({}, _FIVE_STEPS),
    "WGAN-GP, 5 critic steps": ({"loss": "wasserstein", "gradient_penalty": 1.0},
                                _FIVE_STEPS),
}
PROGRESSIVE_STEPS = {"grown": (400, 400, 400), "8x8 from the start": (0, 0, 1200)}


def ring_model(arm: str, seed: int, steps: int = RING_STEPS) -> GAN:
    """The ring GAN of `arm`, trained with `seed` for `steps` generator steps (the study's
    2000 by default; lecture 09 retrains some of its runs)."""
    if arm not in RING_ARMS:
        raise ValueError(f"arm must be one of {sorted(RING_ARMS)}; got {arm!r}")
    model_options, train_options = RING_ARMS[arm]
    seed_everything(seed)  # the initial weights too, wherever this is called from
    model = GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 2, (2,), **model_options)
    train_gan(model, ring_of_gaussians(2000, seed=0), steps=steps, device="cpu",
              seed=seed, progress=False, **_RING_COMMON, **train_options)
    return model


def _ring(arm: str, seed: int) -> dict[str, float]:
    coverage = mode_coverage(ring_model(arm, seed).sample(5000).cpu(), ring_modes(), RING_STD)
    return {"modes_covered": coverage.modes_covered, "high_quality": coverage.high_quality}


def progressive_model(arm: str, seed: int) -> ProgressiveGAN:
    """The progressive study's GAN of `arm`, trained with `seed`."""
    if arm not in PROGRESSIVE_STEPS:
        raise ValueError(f"arm must be one of {sorted(PROGRESSIVE_STEPS)}; got {arm!r}")
    low, fade, high = PROGRESSIVE_STEPS[arm]
    seed_everything(seed)
    model = ProgressiveGAN(32, width=16)
    train_progressive(model, digits("train"), low_steps=low, fade_steps=fade, high_steps=high,
                      batch_size=64, lr=1e-3, lr_decay=True, device="cpu", seed=seed,
                      progress=False)
    return model


def _progressive(arm: str, seed: int) -> dict[str, float]:
    report = sample_quality(progressive_model(arm, seed).sample(1000).cpu())
    return {"fdd": report.fdd, "precision": report.precision, "recall": report.recall}


register_study(Study(
    name="gan-ring", lecture="09",
    question="what removes mode collapse on the ring: the discriminator's step size, more "
             "discriminator steps, or the Wasserstein loss with a gradient penalty?",
    arms=tuple(RING_ARMS), run=_ring))
register_study(Study(
    name="gan-progressive", lecture="09",
    question="at a fixed budget of generator steps, does growing from 4x4 to 8x8 give better "
             "8x8 digits than training at 8x8 from the start?",
    arms=tuple(PROGRESSIVE_STEPS), run=_progressive))
