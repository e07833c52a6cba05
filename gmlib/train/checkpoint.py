"""Checkpoints that load safely: weights, hyper-parameters, versions and the step.

`torch.load(..., weights_only=True)` refuses arbitrary pickled objects, so a checkpoint from
the internet cannot run code on load. That is why everything stored besides tensors must be
plain data (numbers, strings, lists, dicts), which `save_checkpoint` checks before writing.

Format 2 adds a content hash: `sha256` is the SHA-256 of the weights (names, dtypes, shapes
and values; `gmlib.integrity.state_digest`) and of the plain data (format, class, hparams,
step, extra, the model's configuration), checked on load, so a change to any of them after
the file was written (a flipped bit, 64 overwritten bytes) is refused with `IntegrityError`
instead of loading wrong weights. The optimizer's state and the version strings are not
covered. Loading names a missing entry, another
format version, another class and every parameter whose shape differs.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

import gmlib
from gmlib.config import rebuild
from gmlib.exceptions import IntegrityError
from gmlib.integrity import state_digest

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "load_model", "save_checkpoint",
           "upgrade_checkpoint"]

CHECKPOINT_FORMAT = 2
_READABLE_FORMATS = (1, 2)  # format 1 has no hash: loaded with a warning
_REQUIRED = ("format", "model_class", "state_dict", "hparams", "step", "optimizer", "extra")
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
        # what gmlib.train.load_model rebuilds the model from (gmlib.config), when plain
        "model_config": getattr(model, "init_config", None) if getattr(
            model, "init_config", {}).get("rebuildable") else None,
    }
    payload["sha256"] = _content_hash(payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def _content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the weights and the plain data (not the optimizer's state, whose
    `load_state_dict` checks only its structure, nor the version strings)."""
    plain = {k: payload[k] for k in ("format", "model_class", "hparams", "step", "extra")}
    if payload.get("model_config") is not None:
        plain["model_config"] = payload["model_config"]
    text = json.dumps(plain, sort_keys=True, default=str)
    return state_digest({**payload["state_dict"], "__plain__": torch.frombuffer(
        bytearray(text.encode()), dtype=torch.uint8)})


def _check_shapes(path: Path, state: dict[str, Any], model: nn.Module) -> None:
    """Name every missing, unexpected or differently shaped parameter (before torch's dump)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
              for k in own if k in state and hasattr(state[k], "shape")
              and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = ([f"missing {missing[:5]}"] if missing else []) + (
            [f"unexpected {unexpected[:5]}"] if unexpected else []) + shapes[:5]
        raise ValueError(f"{str(path)!r} does not fit this {type(model).__name__}: it was built "
                         "with other hyper-parameters (see the checkpoint's 'hparams'): "
                         + "; ".join(parts))


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
        ValueError: not a gmlib checkpoint, an entry missing, another format version,
            another model class, or parameters of other shapes (each named).
        IntegrityError: the file was changed after it was written (its hash differs).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors have many types; name the file in any case
        raise IntegrityError(f"{str(path)!r} is not a checkpoint that loads safely "
                             f"(weights_only=True; corrupted, or not a checkpoint): {err}"
                             ) from err
    if not isinstance(payload, dict) or "format" not in payload or "state_dict" not in payload:
        raise ValueError(f"{str(path)!r} is not a gmlib checkpoint (no 'format'/'state_dict')")
    version = payload["format"]
    if version not in _READABLE_FORMATS:
        newer = isinstance(version, int) and version > CHECKPOINT_FORMAT
        raise ValueError(f"{str(path)!r} has checkpoint format {version!r}; this gmlib "
                         f"({gmlib.__version__}) reads formats {list(_READABLE_FORMATS)}"
                         + (": upgrade gmlib" if newer else ""))
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"{str(path)!r} lacks {missing}: it was not written by "
                         "save_checkpoint, or was edited")
    if version >= 2:
        if payload.get("sha256") != _content_hash(payload):
            raise IntegrityError(f"{str(path)!r} fails its content hash: the weights or data "
                                 "were changed after it was written (a corrupted file)")
    else:
        warnings.warn(f"{str(path)!r} is a format-1 checkpoint, which has no content hash to "
                      "check; save it again to add one", UserWarning, stacklevel=2)
    saved_major = str(payload.get("gmlib_version", "0")).split(".")[0]
    if saved_major != gmlib.__version__.split(".")[0]:
        warnings.warn(f"{str(path)!r} was saved by gmlib {payload.get('gmlib_version')}; this is "
                      f"{gmlib.__version__}", UserWarning, stacklevel=2)
    if model is not None:
        if payload["model_class"] != type(model).__name__:
            raise ValueError(f"{str(path)!r} holds a {payload['model_class']}; got a "
                             f"{type(model).__name__} to load it into")
        if strict:
            _check_shapes(path, payload["state_dict"], model)
        model.load_state_dict(payload["state_dict"], strict=strict)
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ValueError(f"{str(path)!r} holds no optimizer state")
        optimizer.load_state_dict(payload["optimizer"])
    return payload


def upgrade_checkpoint(path: str | os.PathLike) -> Path:
    """Rewrite a format-1 checkpoint in the current format (adding its content hash), in
    place; the gmlib version that wrote it is kept in `extra["upgraded_from"]`.

    Returns:
        The path rewritten.
    """
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        payload = load_checkpoint(path)
    if payload["format"] == CHECKPOINT_FORMAT:
        return path
    payload = dict(payload, format=CHECKPOINT_FORMAT, gmlib_version=gmlib.__version__,
                   extra={**payload["extra"], "upgraded_from": payload.get("gmlib_version")})
    payload["sha256"] = _content_hash(payload)
    torch.save(payload, path)
    return path


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu"
               ) -> nn.Module:
    """Rebuild a model from its checkpoint alone (its recorded configuration, `gmlib.config`)
    and load its weights, in eval mode.

    Raises:
        ValueError: the checkpoint holds no configuration to rebuild from (a model built from
            other modules, or a format-1 file); then build the model yourself and call
            `load_checkpoint(path, model)`.
    """
    payload = load_checkpoint(path, map_location=map_location)
    config = payload.get("model_config")
    if config is None:
        raise ValueError(f"{str(path)!r} records no configuration to rebuild its "
                         f"{payload['model_class']} from; build the model as it was built, "
                         "then load_checkpoint(path, model)")
    model = rebuild(config)
    load_checkpoint(path, model, map_location=map_location)
    return model.eval()
