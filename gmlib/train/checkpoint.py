"""Checkpoints that load safely: weights, hyper-parameters, versions and the step.

`torch.load(..., weights_only=True)` refuses arbitrary pickled objects, so a checkpoint from
the internet cannot run code on load. That is why everything stored besides tensors must be
plain data (numbers, strings, lists, dicts), which `save_checkpoint` checks before writing.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

import gmlib

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    # exact types: a subclass such as torch's TorchVersion (a str) does not load safely
    if type(value) in _PLAIN:
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} keys must be strings; got {key!r}")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(f"{where} must hold plain values (numbers, strings, lists, dicts) so that "
                    f"it loads with weights_only=True; got {type(value).__name__}")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *,
                    hparams: dict[str, Any] | None = None, step: int | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write the model's weights and what is needed to rebuild and resume it.

    Args:
        path: the file to write (folders are created).
        model: the module whose `state_dict` is saved.
        hparams: the constructor arguments, to rebuild the model before loading.
        step: the optimiser step reached.
        optimizer: its state is saved too, to resume training.
        extra: any other plain data (e.g. `history.as_dict()`).

    Returns:
        The path written.
    """
    hparams = {} if hparams is None else hparams
    extra = {} if extra is None else extra
    _check_plain(hparams, "hparams")
    _check_plain(extra, "extra")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise ValueError(f"step must be a non-negative int; got {step!r}")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "gmlib_version": gmlib.__version__,
        "torch_version": str(torch.__version__),  # TorchVersion is not weights_only-safe
        "model_class": type(model).__name__,
        "state_dict": model.state_dict(),
        "hparams": hparams,
        "step": step,
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "extra": extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None, *,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu",
                    strict: bool = True) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (safely: `weights_only=True`).

    Args:
        path: the checkpoint file.
        model: if given, its weights are loaded (its class must match the saved one).
        optimizer: if given, its state is restored.
        map_location: where tensors are loaded (the CPU by default, so a GPU checkpoint
            opens anywhere; move the model afterwards).
        strict: passed to `load_state_dict`.

    Returns:
        The checkpoint dictionary: `state_dict`, `hparams`, `step`, `extra`, versions.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: not a gmlib checkpoint, or saved from another model class.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors have many types; name the file in any case
        raise ValueError(f"{str(path)!r} is not a checkpoint that loads safely "
                         f"(weights_only=True): {err}") from err
    if not isinstance(payload, dict) or "format" not in payload or "state_dict" not in payload:
        raise ValueError(f"{str(path)!r} is not a gmlib checkpoint (no 'format'/'state_dict')")
    if payload["format"] > CHECKPOINT_FORMAT:
        raise ValueError(f"{str(path)!r} has checkpoint format {payload['format']}; this gmlib "
                         f"({gmlib.__version__}) reads up to {CHECKPOINT_FORMAT}: upgrade gmlib")
    saved_major = str(payload.get("gmlib_version", "0")).split(".")[0]
    if saved_major != gmlib.__version__.split(".")[0]:
        warnings.warn(f"{str(path)!r} was saved by gmlib {payload.get('gmlib_version')}; this is "
                      f"{gmlib.__version__}", UserWarning, stacklevel=2)
    if model is not None:
        if payload["model_class"] != type(model).__name__:
            raise ValueError(f"{str(path)!r} holds a {payload['model_class']}; got a "
                             f"{type(model).__name__} to load it into")
        model.load_state_dict(payload["state_dict"], strict=strict)
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ValueError(f"{str(path)!r} holds no optimizer state")
        optimizer.load_state_dict(payload["optimizer"])
    return payload
