"""The test suite leaves the user's files and the global random state alone."""

import random
from pathlib import Path

import numpy as np
import torch

import gmlib
from gmlib.metrics import classifier, classifier_weights_path, digit_classifier
from gmlib.utils import seed_everything

from .conftest import global_rng_restored


def test_the_classifier_is_read_from_the_package_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # a write to ~/.cache would land here
    monkeypatch.setattr(classifier, "_MEMO", {})  # load the file again, not the memo
    digit_classifier()
    assert Path(gmlib.__file__).parent in classifier_weights_path().parents
    assert list(tmp_path.iterdir()) == []


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

