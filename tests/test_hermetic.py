"""The test suite leaves the user's files and the global random state alone."""

import os
import random
from pathlib import Path

import numpy as np
import torch

from gmlib.metrics.classifier import classifier_cache_path
from gmlib.utils import seed_everything

from .conftest import global_rng_restored


def test_the_classifier_cache_is_a_temporary_folder():
    cache = Path(os.environ["GMLIB_CACHE"])
    assert cache.name.startswith("gmlib-test-cache-") and cache.is_dir()
    assert classifier_cache_path().parent == cache
    assert Path.home() / ".cache" / "gmlib" not in classifier_cache_path().parents


def _draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), torch.rand(1).item()  # noqa: NPY002


def test_global_generators_are_restored_after_seeding():
    seed_everything(123)
    expected = _draw()
    seed_everything(123)
    with global_rng_restored():
        seed_everything(0)
        inside = _draw()
    assert _draw() == expected, "the state before the block must come back"
    assert inside != expected

