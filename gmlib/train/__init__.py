"""Training: the generic `fit` loop (data-parallel under torchrun), safe checkpoints, and the
`python -m gmlib.train` command."""

from __future__ import annotations

from gmlib.train.checkpoint import load_checkpoint, load_model, save_checkpoint
from gmlib.train.distributed import init_distributed
from gmlib.train.loop import History, fit

__all__ = ["History", "fit", "init_distributed", "load_checkpoint", "load_model",
           "save_checkpoint"]
