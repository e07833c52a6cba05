"""Class labels for the conditional diffusion and flow models, and the label dropout that
classifier-free guidance trains with (Ho & Salimans 2022, https://arxiv.org/abs/2207.12598).

The networks reserve label index `n_classes` for "no label" (see `gmlib.nn.unet`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.validation import as_labels, check_nonnegative

__all__ = ["as_labels", "check_p_uncond", "drop_labels"]


def drop_labels(labels: Tensor | None, n_classes: int | None, p_uncond: float) -> Tensor | None:
    """Replace each label by the "no label" index `n_classes` with probability `p_uncond`."""
    if labels is None or p_uncond == 0:
        return labels
    drop = torch.rand(labels.shape, device=labels.device) < p_uncond
    return torch.where(drop, torch.full_like(labels, n_classes), labels)


def check_p_uncond(p_uncond: object) -> float:
    """Raise ValueError unless 0 <= p_uncond < 1; return it as a float."""
    if not 0.0 <= check_nonnegative(p_uncond, "p_uncond") < 1.0:
        raise ValueError(f"p_uncond must be in [0, 1); got {p_uncond!r}")
    return float(p_uncond)
