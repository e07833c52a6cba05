"""Sample-quality scorers for bench entries (`BenchEntry.quality`).

Digits are judged by the course's classifier (`gmlib.metrics`, trained on the "val" digits
only): 1000 samples against the 447 test digits, the protocol under which `fdd_floor()` (the
1000 real training digits, held out from the classifier) is measured, so every FDD in the
leaderboard sits next to that floor. The ring of 8 Gaussians is judged by
mode coverage.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from gmlib.bench.core import BenchContext
from gmlib.data import digits, ring_modes
from gmlib.metrics import SampleQuality, cluster_purity, mode_coverage, sample_quality

__all__ = [
    "N_SAMPLES",
    "conditional_digit_quality",
    "dequantised_digit_quality",
    "digit_quality",
    "infogan_quality",
    "ring_quality",
    "sample_report",
    "timed_digit_quality",
]

N_SAMPLES = 1000
RING_STD = 0.05


def _without_missing(report: SampleQuality) -> dict[str, float]:
    return {name: value for name, value in report.as_dict().items() if value is not None}


def sample_report(samples: Tensor, ctx: BenchContext) -> dict[str, float]:
    """FDD, MMD^2, precision/recall and density/coverage of given samples against the test
    digits."""
    return _without_missing(sample_quality(samples.cpu(), ctx.test.cpu()))


def digit_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """FDD, MMD^2 and precision/recall of 1000 samples against the test digits (flat samples
    of 64 pixels are reshaped to the 8 x 8 images of the test split)."""
    samples = model.sample(N_SAMPLES).reshape(-1, *ctx.test.shape[1:])
    return sample_report(samples.to(ctx.test.dtype), ctx)


def fdd_of_samplers(model: nn.Module, ctx: BenchContext,
                    samplers: dict[str, dict[str, object]]) -> dict[str, float]:
    """{name: FDD of 1000 samples of `model.sample(1000, **options)`}, in the given order:
    the same model's quality under other sampler settings (fewer steps, another solver)."""
    return {name: sample_report(model.sample(N_SAMPLES, **options), ctx)["fdd"]
            for name, options in samplers.items()}


def timed_digit_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """`digit_quality`, plus `sample_seconds`: the wall-clock seconds the 1000 samples took
    on the run's device (so two rows compare only when measured on the same machine)."""
    start = time.perf_counter()
    samples = model.sample(N_SAMPLES).reshape(-1, *ctx.test.shape[1:])
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)
    seconds = time.perf_counter() - start
    return {**sample_report(samples.to(ctx.test.dtype), ctx), "sample_seconds": seconds}


def dequantised_digit_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """The same for a density fitted to dequantised digits x + u: its real-valued samples are
    mapped back to the grey levels by flooring (the inverse of adding u in [0, 1)) and
    clamping to 0..16, as `DequantizedFlow.sample` does."""
    samples = model.sample(N_SAMPLES).reshape(-1, *ctx.test.shape[1:])
    levels = samples.floor().clamp(0, ctx.levels - 1)
    return sample_report(levels.to(ctx.test.dtype), ctx)


def conditional_digit_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """The same for 100 samples of each class, plus how often they are classified as it."""
    labels = torch.arange(10).repeat(N_SAMPLES // 10)
    samples = model.sample(N_SAMPLES, c=labels.to(ctx.device)).cpu()
    return _without_missing(sample_quality(samples, ctx.test.cpu(), labels=labels))


def infogan_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """Digit quality, and the purity of the categorical code on the test digits (labels are
    used only here, to score the clustering the model found without them)."""
    _, labels = digits("test", labels=True)
    purity = cluster_purity(model.infer_category(ctx.test).cpu(), labels)
    return {**digit_quality(model, ctx), "purity": purity}


def ring_quality(model: nn.Module, ctx: BenchContext) -> dict[str, float]:
    """Modes covered (of 8) and the share of high-quality samples, from 5000 samples."""
    coverage = mode_coverage(model.sample(5000).cpu(), ring_modes(), RING_STD)
    return {"modes_covered": coverage.modes_covered, "high_quality": coverage.high_quality}
