"""Small helpers every lecture uses: seeding, device choice, enumeration, log-mean-exp."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gmlib.validation import check_int

__all__ = [
    "count_parameters",
    "enumerate_binary",
    "enumerate_discrete",
    "get_device",
    "glue",
    "logmeanexp",
    "parameter_dtype",
    "seed_everything",
]

# The largest enumeration we allow: 2**24 rows of 24 values is already 1.6 GB in float32.
_MAX_ENUMERATION_ROWS = 2**24


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's (CPU and CUDA) random generators.

    Args:
        seed: a non-negative integer.

    Returns:
        A fresh `torch.Generator` seeded with `seed`, for code that prefers an explicit one.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds the legacy global RNG learners use)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def get_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve a device name; `"auto"` picks CUDA, else the CPU.

    `"auto"` never picks Apple's MPS: MPS has no float64, which the diffusion schedules, the
    exact-likelihood estimators, the coders' tables and several samplers use on the model's
    device for accuracy. Ask for `"mps"` explicitly to try it; gmlib then warns, because
    those parts fail there (tests/test_utils.py checks both rules with MPS simulated).

    Args:
        device: `"auto"`, or anything `torch.device` accepts (`"cpu"`, `"cuda:0"`, ...).

    Raises:
        ValueError: the name is not a device, or names CUDA/MPS on a machine without it.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}"
            ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(resolved)!r} was asked for, but CUDA is not available")
    if resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device 'mps' was asked for, but MPS is not available")
        warnings.warn("MPS has no float64: gmlib's diffusion schedules, exact likelihoods, "
                      "coders and several samplers compute in float64 and fail there; "
                      "'auto' uses the CPU instead", UserWarning, stacklevel=2)
    return resolved


def enumerate_discrete(n_dims: int, n_levels: int = 2, *, dtype: torch.dtype = torch.float32,
                       device: str | torch.device = "cpu") -> Tensor:
    """All `n_levels ** n_dims` vectors with entries in {0, ..., n_levels - 1}.

    Rows are in lexicographic order (the last coordinate changes fastest), so row `i` is the
    base-`n_levels` expansion of `i`.

    Shapes:
        returns (n_levels ** n_dims, n_dims)
    """
    if isinstance(n_dims, bool) or not isinstance(n_dims, int) or n_dims < 1:
        raise ValueError(f"n_dims must be a positive int; got {n_dims!r}")
    check_int(n_levels, "n_levels", 2)
    n_rows = n_levels**n_dims
    if n_rows > _MAX_ENUMERATION_ROWS:
        raise ValueError(
            f"enumerating {n_levels}**{n_dims} = {n_rows} rows is too large "
            f"(at most {_MAX_ENUMERATION_ROWS}); use fewer dimensions"
        )
    index = torch.arange(n_rows, device=device)
    powers = n_levels ** torch.arange(n_dims - 1, -1, -1, device=device)
    return ((index[:, None] // powers) % n_levels).to(dtype)


def enumerate_binary(n_dims: int, *, dtype: torch.dtype = torch.float32,
                     device: str | torch.device = "cpu") -> Tensor:
    """All `2 ** n_dims` binary vectors, in lexicographic order.

    Shapes:
        returns (2 ** n_dims, n_dims)
    """
    return enumerate_discrete(n_dims, 2, dtype=dtype, device=device)


def logmeanexp(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    """`log(mean(exp(x)))` along `dim`, computed stably (the IWAE estimator needs it).

    Shapes:
        x: (..., k, ...) -> the same shape without `dim` (or with size 1 if `keepdim`)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}")
    if x.numel() == 0 or x.shape[dim] == 0:
        raise ValueError(f"logmeanexp needs at least one value along dim {dim}; got shape "
                         f"{tuple(x.shape)}")
    return torch.logsumexp(x, dim=dim, keepdim=keepdim) - math.log(x.shape[dim])


def count_parameters(module: torch.nn.Module, *, trainable_only: bool = True) -> int:
    """The number of (trainable) scalar parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def parameter_dtype(module: torch.nn.Module) -> torch.dtype:
    """The floating dtype of a module's first floating parameter or buffer (the default dtype
    for one with none): the dtype its inputs are cast to."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


def glue(name: str, value: Any, *, display: bool = False) -> Any:
    """Store `value` for the book's text (myst-nb `glue`); a no-op outside a book build.

    Numbers quoted in a lecture's prose come from executed code through this function, so
    they are never typed in. Where myst-nb is not installed (e.g. Colab) nothing is stored.

    Returns:
        `value`, so a cell can glue and use a number in one line.
    """
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # learners running the notebooks without the book tool chain
        return value
    _myst_glue(name, value, display=display)
    return value
