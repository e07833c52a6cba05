"""Input checks shared by every model, with error messages that name what was expected.

Every public entry point of gmlib validates its input with these helpers, so a wrong shape,
a value outside a model's support or a NaN fails at once with a sentence a learner can act
on, instead of a broadcasting error deep inside a network or, worse, a silently wrong number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gmlib.exceptions import ConditionError

__all__ = [
    "MAX_SAMPLES",
    "Support",
    "as_batch",
    "as_labels",
    "check_event_shape",
    "check_finite",
    "check_generator",
    "check_int",
    "check_labels",
    "check_nonnegative",
    "check_positive_int",
    "check_sample_count",
    "check_support",
    "check_tensor",
    "format_shape",
]


def format_shape(shape: Sequence[int | str]) -> str:
    """`(batch, 1, 8, 8)`-style text for an error message."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_tensor(x: object, name: str = "x") -> Tensor:
    """Raise TypeError unless `x` is a tensor; return it."""
    if not isinstance(x, Tensor):
        hint = " (convert it with torch.as_tensor)" if hasattr(x, "__array__") else ""
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}{hint}")
    return x


# More samples than this in one call would take tens of GB for the digits; draw in batches.
MAX_SAMPLES = 10**7


def as_batch(x: object, dtype: torch.dtype, name: str = "x") -> Tensor:
    """The input rule of every gmlib model, applied before shape and support checks.

    * a torch.Tensor is used as it is; a numpy array, list or tuple of numbers is converted
      with `torch.as_tensor`; anything else is a TypeError;
    * NaN or infinite values are a ValueError (checked before any cast, so float64 values
      that overflow float32 are not mistaken for infinities the user gave);
    * bool, integer and other floating dtypes (float16, bfloat16, float64) are cast to
      `dtype`, the model's floating dtype: `x > 8` (a bool mask) is the binary digits, and a
      float64 array from numpy is the same data;
    * complex values are a TypeError; a non-contiguous tensor is made contiguous;
    * gradients flow through the cast, so `requires_grad` inputs keep working;
    * an empty batch (B = 0) passes, and every per-example score returns shape (0,).

    Shapes:
        x: (B, ...) -> returns (B, ...)
    """
    if not isinstance(x, Tensor):
        if isinstance(x, list | tuple) or hasattr(x, "__array__"):
            try:
                x = torch.as_tensor(x)
            except (TypeError, ValueError, RuntimeError) as err:
                raise TypeError(f"{name} must be a torch.Tensor, or an array or list of "
                                f"numbers; {type(x).__name__} could not be converted ({err})"
                                ) from None
        else:
            raise TypeError(f"{name} must be a torch.Tensor (or a numpy array or list of "
                            f"numbers); got {type(x).__name__}")
    if x.is_complex():
        raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
    check_finite(x, name)
    if x.dtype != dtype:
        cast = x.to(dtype)
        if cast.is_floating_point() and not bool(torch.isfinite(cast).all()):
            big = x[~torch.isfinite(cast)].flatten()[0].item()
            raise ValueError(f"{name} holds values beyond the range of {dtype} (e.g. {big:g}), "
                             "the model's dtype; rescale the data")
        x = cast
    return x.contiguous()


def check_sample_count(n: object, name: str = "n") -> int:
    """Raise ValueError unless `n` is an int with 0 <= n <= MAX_SAMPLES; return it."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} must be an int >= 0 (how many samples); got {n!r}")
    if n > MAX_SAMPLES:
        raise ValueError(f"{name}={n} is more than MAX_SAMPLES={MAX_SAMPLES} in one call; "
                         "draw them in batches")
    return n


def check_generator(generator: object) -> torch.Generator | None:
    """Raise TypeError unless `generator` is None or a torch.Generator (not a seed int)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        hint = " (make one with torch.Generator().manual_seed(seed))" if isinstance(
            generator, int) else ""
        raise TypeError(f"generator must be a torch.Generator or None; got "
                        f"{type(generator).__name__}{hint}")
    return generator


def check_positive_int(n: object, name: str = "n") -> int:
    """Raise ValueError unless `n` is an int >= 1 (bools are refused); return it."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be a positive int; got {n!r}")
    return n


def check_int(value: object, name: str, minimum: int) -> int:
    """Raise ValueError unless `value` is an int >= `minimum` (bools are refused); return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return value


def check_nonnegative(value: object, name: str) -> float:
    """Raise ValueError unless `value` is a finite number >= 0 (bools refused); return a float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def check_labels(y: object, n_classes: int, n: int | None = None, name: str = "y") -> Tensor:
    """Check class labels: a tensor of shape (n,) holding integers 0..n_classes-1.

    Returns them as int64 (on their own device).
    """
    y = check_tensor(y, name)
    if y.dim() != 1 or (n is not None and len(y) != n):
        want = f"({n},), one label per example" if n is not None else "(B,)"
        raise ValueError(f"{name} must have shape {want}; got {tuple(y.shape)}")
    bad = (y < 0) | (y >= n_classes) | (y != y.round())
    if bool(bad.any()):
        raise ValueError(f"{name} must hold class labels 0..{n_classes - 1}; got "
                         f"{y[bad][0].item():g}")
    return y.long()


def as_labels(c: Tensor | int | None, n_classes: int | None, batch: int | None,
              device: torch.device) -> Tensor | None:
    """The one encoding of class labels: `c` as (batch,) int64 labels on `device`, from a
    tensor of labels or one int for the whole batch; None stays None (no label).

    Raises:
        ConditionError: labels for a model without classes (`n_classes=None`).
        ValueError: labels outside 0..n_classes-1 or of another length than `batch`.
    """
    if c is None:
        return None
    if n_classes is None:
        raise ConditionError("this model is unconditional (n_classes=None), so it cannot use "
                             "the condition c")
    if isinstance(c, int) and not isinstance(c, bool):
        c = torch.full((batch or 1,), c, dtype=torch.long, device=device)
    return check_labels(c, n_classes, batch, "c").to(device)


def check_event_shape(x: Tensor, event_shape: Sequence[int], name: str = "x") -> Tensor:
    """Check that `x` is a batch of events: shape `(batch, *event_shape)`.

    Shapes:
        x: (B, *event_shape)
    """
    check_tensor(x, name)
    event_shape = tuple(event_shape)
    expected = ("batch", *event_shape)
    if x.dim() != len(event_shape) + 1 or tuple(x.shape[1:]) != event_shape:
        hint = ""
        if tuple(x.shape) == event_shape:
            hint = f"; for a single example use {name}.unsqueeze(0)"
        elif x.dim() >= 2 and x.shape[1:].numel() == torch.Size(event_shape).numel():
            hint = f"; reshape it with {name}.reshape(-1, {', '.join(map(str, event_shape))})"
        raise ValueError(
            f"{name} must have shape {format_shape(expected)}; got {format_shape(tuple(x.shape))}"
            f"{hint}"
        )
    return x


def check_finite(x: Tensor, name: str = "x") -> Tensor:
    """Raise ValueError if `x` holds NaN or infinite values."""
    check_tensor(x, name)
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must hold finite values; got {n_bad} NaN or infinite entries")
    return x


@dataclass(frozen=True)
class Support:
    """The set of values a model's observations take.

    Attributes:
        kind: `"real"` (any finite value), `"binary"` ({0, 1}) or `"levels"` ({0, ..., K-1}).
        n_levels: K for `"levels"` (2 for `"binary"`); None for `"real"`.
    """

    kind: str
    n_levels: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("real", "binary", "levels"):
            raise ValueError(
                f"Support kind must be 'real', 'binary' or 'levels'; got {self.kind!r}")
        if self.kind == "levels" and (self.n_levels is None or self.n_levels < 2):
            raise ValueError(f"Support 'levels' needs n_levels >= 2; got {self.n_levels!r}")

    @classmethod
    def real(cls) -> Support:
        return cls("real")

    @classmethod
    def binary(cls) -> Support:
        return cls("binary", 2)

    @classmethod
    def levels(cls, n_levels: int) -> Support:
        return cls("binary", 2) if n_levels == 2 else cls("levels", n_levels)

    def __str__(self) -> str:
        if self.kind == "real":
            return "real values"
        if self.kind == "binary":
            return "binary values {0, 1}"
        return f"integer levels {{0, ..., {self.n_levels - 1}}}"


def check_support(x: Tensor, support: Support, name: str = "x") -> Tensor:
    """Check that every entry of `x` lies in `support` (finite values in any case)."""
    check_finite(x, name)
    if support.kind == "real":
        return x
    n_levels = support.n_levels or 2  # "binary" and "levels" always carry n_levels
    bad = (x < 0) | (x > n_levels - 1) | (x != torch.round(x))
    if bool(bad.any()):
        example = x[bad].flatten()[0].item()
        what = "binarise it first (e.g. x > 8 for the digits)" if support.kind == "binary" else (
            "quantise it to integers first")
        raise ValueError(
            f"{name} must hold {support}; got {int(bad.sum())} entries outside it "
            f"(e.g. {example:g}); {what}"
        )
    return x
