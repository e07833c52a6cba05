"""Helpers the checkers share to inspect a learner's answer."""

from __future__ import annotations

import torch

from gmlib.exercises.core import Incorrect

__all__ = ["expect_tensor", "expect_tuple"]


def expect_tensor(got: object, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """The answer as a detached float64 tensor, or `Incorrect` naming the shape expected.

    Args:
        what: the shape in the exercise's words, e.g. `"(D,)"` or `"(B, C)"`.
    """
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(shape):
        found = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        raise Incorrect(f"return a tensor of shape {what} = {tuple(shape)}; got {found}")
    return got.detach().double()


def expect_tuple(got: object, names: tuple[str, ...]) -> tuple:
    """The answer as a tuple of `len(names)` items, or `Incorrect` naming what to return."""
    if not isinstance(got, tuple | list) or len(got) != len(names):
        raise Incorrect(f"return a tuple ({', '.join(names)})")
    return tuple(got)
