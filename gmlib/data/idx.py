"""Read MNIST-format IDX files that a learner has on disk (nothing is downloaded).

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a big-endian header
followed by raw values: two zero bytes, a type code, the number of dimensions, one 4-byte
size per dimension, then the data in C order. MNIST and Fashion-MNIST ship in it, gzipped or not.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["MNIST_FILES", "mnist", "read_idx", "write_idx"]

# type code -> big-endian numpy dtype
_IDX_TYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_ENV_VAR = "GMLIB_MNIST_DIR"


def _open(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return fh.read()


def read_idx(path: str | os.PathLike) -> Tensor:
    """Read one IDX file (optionally gzipped) into a tensor of its stored shape.

    Unsigned bytes become uint8; the other types keep their width (int8/16/32, float32/64).

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not IDX (bad magic number, unknown type, wrong length).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {str(path)!r}")
    raw = _open(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{str(path)!r} is not an IDX file: it must start with two zero bytes")
    type_code, n_dims = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_TYPES)
        raise ValueError(f"{str(path)!r} has IDX type code 0x{type_code:02X}; expected one of "
                         f"{known}")
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise ValueError(f"{str(path)!r} is truncated: its header needs {header} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{str(path)!r} holds {len(raw) - header} data bytes; its header "
                         f"{shape} announces {expected}")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def write_idx(path: str | os.PathLike, array: Tensor | np.ndarray, *,
              compress: bool = False) -> Path:
    """Write an array as an IDX file (used by the tests; handy to export small data sets)."""
    array = np.asarray(array.cpu() if isinstance(array, Tensor) else array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    if array.dtype not in codes:
        raise ValueError(f"array dtype must be one of {sorted(str(d) for d in codes)}; "
                         f"got {array.dtype}")
    code = codes[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + array.astype(np.dtype(_IDX_TYPES[code])).tobytes()
    path = Path(path)
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def mnist(root: str | os.PathLike | None = None, split: str = "train", *,
          labels: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """MNIST or Fashion-MNIST from local IDX files, as (N, 1, 28, 28) float32 in 0..255.

    Args:
        root: the folder holding the four IDX files (gzipped or not); defaults to the
            environment variable `GMLIB_MNIST_DIR`.
        split: `"train"` or `"test"`.
        labels: also return the labels (N,) as int64.

    Raises:
        ValueError: unknown split, or no folder given and `GMLIB_MNIST_DIR` unset.
        FileNotFoundError: a file is missing; the message lists the expected file names.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    if root is None:
        root = os.environ.get(MNIST_ENV_VAR)
        if not root:
            raise ValueError(f"pass root=<folder with the MNIST IDX files> or set the "
                             f"environment variable {MNIST_ENV_VAR}")
    root = Path(root).expanduser()  # "~/data/mnist" from a command line or a notebook
    found = [_find(root, stem) for stem in MNIST_FILES[split]]
    if any(f is None for f in found):
        expected = ", ".join(f"{s}[.gz]" for s in MNIST_FILES[split])
        raise FileNotFoundError(f"MNIST {split} files not found in {str(root)!r}; expected "
                                f"{expected} (gmlib never downloads: fetch them yourself)")
    images_path, labels_path = found
    images = read_idx(images_path).float()
    if images.dim() != 3:
        raise ValueError(f"{str(images_path)!r} must hold (N, H, W) images; got shape "
                         f"{tuple(images.shape)}")
    images = images.unsqueeze(1)
    if not labels:
        return images
    y = read_idx(labels_path).long()
    if y.shape != (images.shape[0],):
        raise ValueError(f"{str(labels_path)!r} holds {tuple(y.shape)} labels for "
                         f"{images.shape[0]} images")
    return images, y
