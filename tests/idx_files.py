"""Small MNIST-format folders for the tests that read `idx:FOLDER` (gmlib never downloads)."""

from __future__ import annotations

from pathlib import Path

import torch

from gmlib.data import write_idx


def write_mnist_files(folder: Path, n_train: int, n_test: int, side: int = 28) -> Path:
    """The four MNIST files with random `side` x `side` images (bright strokes on a dark
    background, like digits) and labels 0..9 in turn; the label files are gzipped."""
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = (torch.rand(n, side, side, generator=gen) ** 3 * 256).clamp(max=255)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images.to(torch.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte",
                  torch.arange(n).remainder(10).to(torch.uint8), compress=True)
    return folder
