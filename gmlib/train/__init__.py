"""Training: the generic `fit` loop and safe checkpoints."""

from __future__ import annotations

from gmlib.train.checkpoint import load_checkpoint, save_checkpoint
from gmlib.train.loop import History, fit

__all__ = ["History", "fit", "load_checkpoint", "save_checkpoint"]
