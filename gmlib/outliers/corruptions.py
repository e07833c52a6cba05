"""Corrupted and foreign versions of the 8x8 digits, to test outlier detectors on.

Every corruption keeps the images on the 17 integer grey levels, so any digits model can
score them. The kinds:

* `noise`: a share `fraction` of the pixels replaced by uniformly random levels;
* `shift`: the digit moved `pixels` to the right and down, zeros shifted in;
* `flip`: upside down (a foreign but digit-like input);
* `invert`: grey levels reversed, 16 - x (dark strokes on a light page);
* `uniform`: images of independent uniform levels (no digit at all).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.data import DIGITS_LEVELS
from gmlib.validation import Support, check_event_shape, check_support, check_tensor

__all__ = ["CORRUPTIONS", "corrupt"]

CORRUPTIONS = ("noise", "shift", "flip", "invert", "uniform")


def corrupt(x: Tensor, kind: str, *, fraction: float = 0.25, pixels: int = 2,
            generator: torch.Generator | None = None) -> Tensor:
    """A corrupted copy of digits `x`.

    Args:
        x: digits on the grey levels 0..16, (N, 1, 8, 8).
        kind: one of `CORRUPTIONS`.
        fraction: share of pixels replaced, for `noise`.
        pixels: displacement, for `shift` (0..7).
        generator: random numbers for `noise` and `uniform` (on x's device).

    Shapes:
        (N, 1, 8, 8) -> (N, 1, 8, 8), same dtype and device.
    """
    check_tensor(x, "x")
    check_event_shape(x, (1, 8, 8), "x")
    check_support(x, Support.levels(DIGITS_LEVELS), "x")
    if kind not in CORRUPTIONS:
        raise ValueError(f"kind must be one of {CORRUPTIONS}; got {kind!r}")
    top = DIGITS_LEVELS - 1
    if kind == "noise":
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1]; got {fraction}")
        hit = torch.rand(x.shape, generator=generator, device=x.device) < fraction
        levels = torch.randint(DIGITS_LEVELS, x.shape, generator=generator, device=x.device)
        return torch.where(hit, levels.to(x.dtype), x)
    if kind == "shift":
        if not 0 <= pixels < 8:
            raise ValueError(f"pixels must be in 0..7; got {pixels}")
        out = torch.zeros_like(x)
        out[..., pixels:, pixels:] = x[..., : 8 - pixels, : 8 - pixels]
        return out
    if kind == "flip":
        return x.flip(-2)
    if kind == "invert":
        return top - x
    levels = torch.randint(DIGITS_LEVELS, x.shape, generator=generator, device=x.device)
    return levels.to(x.dtype)
