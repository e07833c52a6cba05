"""Data for the course: the 8x8 digits protocol, 2-D toys, local IDX files, loaders."""

from __future__ import annotations

from gmlib.data.digits import (
    DIGITS_BINARIZE_THRESHOLD,
    DIGITS_LEVELS,
    DIGITS_SPLITS,
    digits,
    levels_to_signed,
    signed_to_levels,
    uniform_dequantize,
)
from gmlib.data.idx import MNIST_FILES, mnist, read_idx, write_idx
from gmlib.data.loaders import as_dataset, make_loader
from gmlib.data.toys import (
    TOY_DATASETS,
    checkerboard,
    ring_modes,
    ring_of_gaussians,
    spirals,
    toy_dataset,
    two_moons,
)

__all__ = [
    "DIGITS_BINARIZE_THRESHOLD",
    "DIGITS_LEVELS",
    "DIGITS_SPLITS",
    "MNIST_FILES",
    "TOY_DATASETS",
    "as_dataset",
    "checkerboard",
    "digits",
    "levels_to_signed",
    "make_loader",
    "mnist",
    "read_idx",
    "ring_modes",
    "ring_of_gaussians",
    "signed_to_levels",
    "spirals",
    "toy_dataset",
    "two_moons",
    "uniform_dequantize",
    "write_idx",
]
