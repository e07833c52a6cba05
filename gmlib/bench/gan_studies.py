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
* `cyclegan-cycle`: CycleGAN between thin digits (training rows 0-499) and thickened ones
  (rows 500-999 dilated by a 2x2 maximum), translators and discriminators of width 16, 800
  steps at 5e-4 with linear decay, batches of 64; with the paper's cycle weight 10 or
  without the cycle loss (the only change). Measured on the test digits, whose true
  partners are known: the translations' error from the partner, how often the
  classifier's class survives each direction, and the round trips' error.

Every study stores its first seed's models (`--save-models`), which lecture 09 loads.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gmlib.bench.quality import RING_STD
from gmlib.bench.studies import Study, register_study
from gmlib.data import digits, ring_modes, ring_of_gaussians
from gmlib.gans import (
    GAN,
    CycleGAN,
    DCGANDiscriminator,
    ImageTranslator,
    MLPDiscriminator,
    MLPGenerator,
    ProgressiveGAN,
    train_gan,
)
from gmlib.gans.progressive import train_progressive
from gmlib.metrics import class_accuracy, mode_coverage, sample_quality
from gmlib.utils import seed_everything

__all__ = ["CYCLE_STEPS", "CYCLE_WEIGHTS", "PROGRESSIVE_STEPS", "RING_ARMS", "RING_STEPS",
           "cycle_domains", "cyclegan_model", "progressive_model", "ring_model", "snapshot_codes",
           "thicken"]

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
CYCLE_STEPS = 800
CYCLE_WEIGHTS = {"cycle loss (weight 10)": 10.0, "no cycle loss": 0.0}


def _ring_gan(arm: str) -> GAN:
    if arm not in RING_ARMS:
        raise ValueError(f"arm must be one of {sorted(RING_ARMS)}; got {arm!r}")
    return GAN(MLPGenerator(2, (2,)), MLPDiscriminator(2), 2, (2,), **RING_ARMS[arm][0])


def ring_model(arm: str, seed: int, steps: int = RING_STEPS) -> GAN:
    """The ring GAN of `arm`, trained with `seed` for `steps` generator steps (the study's
    2000 by default)."""
    seed_everything(seed)  # the initial weights too, wherever this is called from
    model = _ring_gan(arm)
    train_gan(model, ring_of_gaussians(2000, seed=0), steps=steps, device="cpu",
              seed=seed, progress=False, **_RING_COMMON, **RING_ARMS[arm][1])
    return model.eval()


def _ring_score(arm: str, model: GAN) -> dict[str, float]:
    coverage = mode_coverage(model.sample(5000).cpu(), ring_modes(), RING_STD)
    return {"modes_covered": coverage.modes_covered, "high_quality": coverage.high_quality}


def _progressive_gan(arm: str) -> ProgressiveGAN:
    if arm not in PROGRESSIVE_STEPS:
        raise ValueError(f"arm must be one of {sorted(PROGRESSIVE_STEPS)}; got {arm!r}")
    return ProgressiveGAN(32, width=16)


def snapshot_codes() -> Tensor:
    """The 12 latent codes whose images a grown run keeps during training, (12, 32)."""
    return torch.randn(12, 32, generator=torch.Generator().manual_seed(0))


def progressive_model(arm: str, seed: int) -> ProgressiveGAN:
    """The progressive study's GAN of `arm`, trained with `seed`.

    A grown run keeps the images of `snapshot_codes()` at the end of the 4x4 stage and
    halfway through the fade-in, in `model.train_history["snapshots"]` ({step: {"alpha",
    "images"}}, stored with the model), drawn in eval mode without touching the random
    state or the batch-norm statistics, so keeping them does not change the run."""
    seed_everything(seed)
    model = _progressive_gan(arm)
    low, fade, high = PROGRESSIVE_STEPS[arm]
    codes, snapshots = snapshot_codes(), {}

    def keep(step: int, gan: ProgressiveGAN, history: object) -> None:
        if low > 0 and step in (low, low + fade // 2):
            gan.generator.eval()
            with torch.no_grad():
                images = gan.generator(codes.to(gan.device)).cpu()
            gan.generator.train()
            snapshots[str(step)] = {"alpha": gan.alpha, "images": images.tolist()}

    train_progressive(model, digits("train"), low_steps=low, fade_steps=fade, high_steps=high,
                      batch_size=64, lr=1e-3, lr_decay=True, device="cpu", seed=seed,
                      progress=False, callback=keep, callback_every=1)
    model.train_history = {"snapshots": snapshots}
    return model.eval()


def _progressive_score(arm: str, model: ProgressiveGAN) -> dict[str, float]:
    report = sample_quality(model.sample(1000).cpu())
    return {"fdd": report.fdd, "precision": report.precision, "recall": report.recall,
            "density": report.density, "coverage": report.coverage}


def thicken(x: Tensor) -> Tensor:
    """Each pixel replaced by the maximum of its 2x2 block (it and its right and lower
    neighbours; zeros beyond the border): a grey-level dilation that thickens the strokes.

    Shapes:
        x: (N, 1, H, W) -> (N, 1, H, W)
    """
    return F.max_pool2d(F.pad(x, (0, 1, 0, 1)), 2, stride=1)


def cycle_domains() -> tuple[Tensor, Tensor]:
    """CycleGAN's unpaired domains: plain digits (training rows 0-499) and thickened digits
    (rows 500-999), so no image has its partner in the other domain."""
    train = digits("train")
    return train[:500], thicken(train[500:])


def _cyclegan(arm: str) -> CycleGAN:
    if arm not in CYCLE_WEIGHTS:
        raise ValueError(f"arm must be one of {sorted(CYCLE_WEIGHTS)}; got {arm!r}")
    return CycleGAN(ImageTranslator(width=16), ImageTranslator(width=16),
                    DCGANDiscriminator(width=16), DCGANDiscriminator(width=16),
                    cycle_weight=CYCLE_WEIGHTS[arm])


def cyclegan_model(arm: str, seed: int) -> CycleGAN:
    """The CycleGAN of `arm` (thin <-> thick digits), trained with `seed`."""
    seed_everything(seed)
    model = _cyclegan(arm)
    train_gan(model, cycle_domains(), steps=CYCLE_STEPS, batch_size=64, lr=5e-4,
              lr_decay=True, device="cpu", seed=seed, progress=False)
    return model.eval()


def _cyclegan_score(arm: str, model: CycleGAN) -> dict[str, float]:
    """On the test digits a and their true partners thicken(a): the translations' mean
    absolute error from the partner (grey levels per pixel), how often the class survives a
    translation, and the round trips' error."""
    test, labels = digits("test", labels=True)
    thick = thicken(test)
    a_to_b = model.translate(test, "a->b").cpu()
    b_to_a = model.translate(thick, "b->a").cpu()
    cycle_a, cycle_b = model.cycle_error(test, thick)
    return {"partner_error_ab": float((a_to_b - thick).abs().mean()),
            "partner_error_ba": float((b_to_a - test).abs().mean()),
            "kept_class_ab": class_accuracy(a_to_b, labels),
            "kept_class_ba": class_accuracy(b_to_a, labels),
            "cycle_error": (cycle_a + cycle_b) / 2}


register_study(Study(
    name="gan-ring", lecture="09",
    question="what removes mode collapse on the ring: the discriminator's step size, more "
             "discriminator steps, or the Wasserstein loss with a gradient penalty?",
    arms=tuple(RING_ARMS), train=ring_model, score=_ring_score, build=_ring_gan))
register_study(Study(
    name="gan-progressive", lecture="09",
    question="at a fixed budget of generator steps, does growing from 4x4 to 8x8 give better "
             "8x8 digits than training at 8x8 from the start?",
    arms=tuple(PROGRESSIVE_STEPS), train=progressive_model, score=_progressive_score,
    build=_progressive_gan))
register_study(Study(
    name="cyclegan-cycle", lecture="09",
    question="translating thin digits to thick ones without pairs: what does the cycle loss "
             "keep that the adversarial losses alone lose?",
    arms=tuple(CYCLE_WEIGHTS), train=cyclegan_model, score=_cyclegan_score,
    build=_cyclegan))
