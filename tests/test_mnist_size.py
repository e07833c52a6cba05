"""Bigger data, same code: every image entry of the bench trains on 28x28 MNIST-format files.

The IDX files are written here (random 28x28 images, 256 grey levels), read back through
`idx:FOLDER` exactly as `python -m gmlib.train --data idx:FOLDER` reads a learner's MNIST, and
every entry builds its model from the data's shape and levels, trains one short epoch, scores
the test images and samples 28x28 images on the 0..255 grey scale.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gmlib.bench.core import context, entries, fit_entry

from .idx_files import write_mnist_files

# Gaussian mixtures and factor analysis on 784 dimensions fit 10 and 3 candidates by EM:
# they work, but take minutes; PPCA covers the closed-form linear family.
SLOW = {"gmm", "factor-analysis"}
IMAGE_ENTRIES = [name for name, e in entries().items()
                 if e.track != "ring-of-8" and name not in SLOW]
SHAPE = (1, 28, 28)
# sample quickly: few reverse steps, one Langevin step per noise level; labels for the cGAN
SAMPLING = {"ncsn": {"n_steps_each": 1}, "cgan": {"c": torch.arange(2)}}


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory) -> Path:
    return write_mnist_files(tmp_path_factory.mktemp("mnist"), n_train=24, n_test=4)


def test_idx_context_has_the_shape_and_levels_of_the_files(mnist_folder):
    ctx = context("17-level", data=f"idx:{mnist_folder}")
    assert ctx.shape == SHAPE and ctx.levels == 256 and ctx.n_dims == 784
    assert (len(ctx.train), len(ctx.val), len(ctx.test)) == (20, 4, 4)
    assert ctx.train_labels.tolist() == [i % 10 for i in range(20)]
    assert ctx.train.max() <= 255 and ctx.train.min() >= 0
    coarse = context("17-level", data=f"idx:{mnist_folder}", levels=17)
    assert coarse.levels == 17 and coarse.train.max() <= 16
    torch.testing.assert_close(coarse.train, torch.div(ctx.train * 17, 256,
                                                       rounding_mode="floor"))
    binary = context("binary", data=f"idx:{mnist_folder}")
    assert binary.levels == 2 and set(binary.train.unique().tolist()) <= {0.0, 1.0}


def test_bad_data_specs_say_what_was_expected(mnist_folder, tmp_path):
    with pytest.raises(ValueError, match="'digits' or 'idx:FOLDER'"):
        context("17-level", data="mnist")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        context("17-level", data=f"idx:{tmp_path}")
    with pytest.raises(ValueError, match="levels must be between 2 and 256"):
        context("17-level", data=f"idx:{mnist_folder}", levels=300)
    with pytest.raises(ValueError, match="requantising"):
        context("17-level", levels=5)
    with pytest.raises(ValueError, match="binary track has 2 levels"):
        context("binary", data=f"idx:{mnist_folder}", levels=17)
    with pytest.raises(ValueError, match="generated 2-D points"):
        context("ring-of-8", data=f"idx:{mnist_folder}")


@pytest.mark.slow
@pytest.mark.parametrize("name", IMAGE_ENTRIES)
def test_every_image_entry_trains_on_28x28_images(name, mnist_folder):
    entry = entries()[name]
    ctx = context(entry.track, data=f"idx:{mnist_folder}", epochs=1, batch_size=4, seed=0)
    model, _ = fit_entry(entry, ctx)
    x = ctx.test[:2]
    if entry.has_likelihood:
        # the cheapest of the entry's own scores: the ELBO when it has one
        score = entry.elbo or entry.score or (lambda m, v: m.log_prob(v))
        with torch.no_grad():
            values = score(model, x)
        assert values.shape == (2,) and torch.isfinite(values).all(), name
    kwargs = SAMPLING.get(name, {"steps": 5} if entry.family == "diffusion" else {})
    samples = model.sample(2, **kwargs).reshape(2, -1)
    assert samples.shape == (2, 784), name
    if entry.family not in ("linear", "mixture"):  # those sample dequantised real values
        assert samples.min() >= 0 and samples.max() <= ctx.levels - 1 + 1e-4, name
