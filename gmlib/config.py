"""Each model records the arguments it was built with, so a checkpoint can rebuild it.

`GenerativeModel.__init_subclass__` wraps every model's `__init__` with `record_config`:
after the outermost constructor returns, `model.init_config` holds `{"module", "class",
"args"}`, the arguments bound to the signature with defaults applied. When they are plain
data (numbers, strings, lists, dicts, None) the model is rebuildable without the benchmark
registry: `save_checkpoint` stores the configuration and `gmlib.train.load_model(path)`
rebuilds the model and loads its weights. Models built from other modules (a VAE from its
encoder and decoder, a GAN from its networks, a flow from its transforms) and fitted
estimators (whose state `fit` creates) record `rebuildable: False` and say so when one
tries.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["is_plain", "rebuild", "record_config"]

_PLAIN = (str, int, float, bool, type(None))


def is_plain(value: Any) -> bool:
    """Whether `value` is plain data that a checkpoint stores and loads safely."""
    if type(value) in _PLAIN:
        return True
    if isinstance(value, list | tuple):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def _plain(value: Any) -> Any:
    """Tuples as lists (what a checkpoint loads back); dtypes as their names."""
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_config(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a model's `__init__` so the outermost call records `self.init_config`.

    A class sets `config_rebuildable = False` when its constructor's arguments do not
    determine the model (a fitted estimator's state comes from `fit`)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        depth = self.__dict__.get("_config_depth", 0)
        object.__setattr__(self, "_config_depth", depth + 1)
        try:
            init(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_config_depth", depth)
        if depth == 0:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            for name, p in signature.parameters.items():
                if p.kind is inspect.Parameter.VAR_KEYWORD:
                    arguments.update(arguments.pop(name, {}))
            values = {k: _plain(v) for k, v in arguments.items()}
            rebuildable = is_plain(values) and getattr(type(self), "config_rebuildable", True)
            # in the instance's __dict__ under its own name: no module, parameter or
            # property of a subclass is shadowed
            self.__dict__["init_config"] = {
                "module": type(self).__module__, "class": type(self).__qualname__,
                "args": values, "rebuildable": bool(rebuildable)}

    return wrapped


def rebuild(config: dict[str, Any]) -> nn.Module:
    """A fresh, untrained model from a recorded configuration.

    Raises:
        ValueError: the configuration is not rebuildable (built from other modules) or
            names a class gmlib does not have.
    """
    if not isinstance(config, dict) or not {"module", "class", "args"} <= set(config):
        raise ValueError("not a model configuration (module, class, args)")
    if not config.get("rebuildable", False):
        raise ValueError(f"a {config['class']} cannot be rebuilt from its configuration (it is "
                         "built from other modules, or its state comes from fit); build it "
                         "as you did, then load_checkpoint(path, model)")
    if not str(config["module"]).startswith("gmlib."):
        raise ValueError(f"only gmlib's models are rebuilt; got {config['module']}")
    try:
        cls = getattr(importlib.import_module(config["module"]), config["class"])
    except (ImportError, AttributeError) as err:
        raise ValueError(f"gmlib has no {config['module']}.{config['class']}") from err
    args = dict(config["args"])
    for name, value in args.items():
        if isinstance(value, str) and value.startswith("torch.") and hasattr(
                torch, value[6:]) and isinstance(getattr(torch, value[6:]), torch.dtype):
            args[name] = getattr(torch, value[6:])
    return cls(**args)
