"""The course's benchmark data: scikit-learn's bundled 8x8 digits with a fixed split.

The 1797 images (integer grey levels 0..16) ship inside scikit-learn, so nothing is
downloaded. The split is by position, exactly as in the examples of Tomczak's "Deep
Generative Modeling" (2022), so our test NLLs compare with its published numbers one to one:
train = rows 0..999, val = 1000..1349, test = 1350..1796 (447 images).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "DIGITS_BINARIZE_THRESHOLD",
    "DIGITS_LEVELS",
    "DIGITS_SPLITS",
    "digits",
    "levels_to_signed",
    "signed_to_levels",
    "uniform_dequantize",
]

DIGITS_SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 1000),
    "val": (1000, 1350),
    "test": (1350, 1797),
}
DIGITS_LEVELS = 17  # grey levels 0..16
DIGITS_BINARIZE_THRESHOLD = 8  # binarised digits: pixel > 8 -> 1


@lru_cache(maxsize=1)
def _load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


def digits(split: str = "train", *, binarize: bool = False, flatten: bool = False,
           labels: bool = False, dtype: torch.dtype = torch.float32,
           device: str | torch.device = "cpu") -> Tensor | tuple[Tensor, Tensor]:
    """Load one split of the 8x8 digits.

    Args:
        split: `"train"` (1000 images), `"val"` (350), `"test"` (447) or `"all"` (1797).
        binarize: map grey levels to {0, 1} with `pixel > 8`.
        flatten: return (N, 64) instead of images (N, 1, 8, 8).
        labels: also return the class labels (N,) as int64.
        dtype: floating dtype of the images (float32 by default; float64 for exact checks).
        device: where the tensors are created.

    Returns:
        `x` of shape (N, 1, 8, 8) or (N, 64) with values 0..16 (or 0/1), or `(x, y)`.

    Raises:
        ValueError: for an unknown split.
    """
    if split == "all":
        start, stop = 0, 1797
    elif split in DIGITS_SPLITS:
        start, stop = DIGITS_SPLITS[split]
    else:
        raise ValueError(
            f"split must be one of 'train', 'val', 'test' or 'all'; got {split!r}"
        )
    data, target = _load_digits_arrays()
    x = torch.as_tensor(data[start:stop], dtype=dtype, device=device)
    if binarize:
        x = (x > DIGITS_BINARIZE_THRESHOLD).to(dtype)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    if labels:
        return x, torch.as_tensor(target[start:stop], device=device)
    return x


def uniform_dequantize(x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Add uniform noise u ~ U[0, 1) to integer data, giving a continuous density's input.

    For integer x, any density p on the reals defines a discrete model
    P(x) = ∫_[0,1)^D p(x + u) du, and by Jensen log P(x) >= E_u[log p(x + u)]
    (Theis et al. 2016). So a continuous model's average log-density on dequantised data is a
    valid lower bound on the discrete log-likelihood, in the *same units* as the integers: keep
    the scale, or add the log-Jacobian of any rescaling.

    Shapes:
        x: any shape -> returns the same shape, floating point.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
    if x.is_floating_point() and not bool((x == torch.round(x)).all()):
        raise ValueError("x must hold integer values to be dequantised; got non-integer entries")
    x = x.float() if not x.is_floating_point() else x
    if generator is None:
        noise = torch.rand_like(x)
    else:  # draw where the generator lives, then follow x
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=generator.device)
    return x + noise.to(x.device)


def levels_to_signed(x: Tensor, n_levels: int | None) -> Tensor:
    """Grey levels 0..n_levels-1 -> [-1, 1], the scale of the diffusion and score models;
    real-valued data (n_levels None) are returned as they are."""
    return x if n_levels is None else 2 * x / (n_levels - 1) - 1


def signed_to_levels(x: Tensor, n_levels: int | None) -> Tensor:
    """[-1, 1] -> the nearest grey level 0..n_levels-1 (the inverse of `levels_to_signed` on
    the grid); real-valued data (n_levels None) are returned as they are."""
    if n_levels is None:
        return x
    return ((x + 1) * (n_levels - 1) / 2).round().clamp(0, n_levels - 1)
