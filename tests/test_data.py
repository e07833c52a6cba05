import gzip

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from gmlib.data import (
    TOY_DATASETS,
    checkerboard,
    digits,
    make_loader,
    mnist,
    read_idx,
    ring_modes,
    ring_of_gaussians,
    spirals,
    toy_dataset,
    two_moons,
    uniform_dequantize,
    write_idx,
)
from gmlib.data.loaders import as_dataset


@pytest.mark.parametrize(("split", "size"), [("train", 1000), ("val", 350), ("test", 447),
                                             ("all", 1797)])
def test_digits_split_sizes_and_shapes(split, size):
    x = digits(split)
    assert x.shape == (size, 1, 8, 8) and x.dtype == torch.float32
    assert digits(split, flatten=True).shape == (size, 64)


def test_digits_split_is_by_position_exactly():
    reference = load_digits()
    assert np.array_equal(digits("train", flatten=True).numpy(), reference.data[:1000])
    assert np.array_equal(digits("val", flatten=True).numpy(), reference.data[1000:1350])
    test_x, test_y = digits("test", flatten=True, labels=True)
    assert np.array_equal(test_x.numpy(), reference.data[1350:])
    assert np.array_equal(test_y.numpy(), reference.target[1350:])


def test_digits_values_binarisation_and_dtype():
    x = digits("train")
    assert x.min() == 0 and x.max() == 16 and torch.equal(x, x.round())
    xb = digits("train", binarize=True)
    assert set(xb.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(xb, (x > 8).float())
    assert digits("test", dtype=torch.float64).dtype == torch.float64
    x, y = digits("val", labels=True)
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))


def test_digits_unknown_split():
    with pytest.raises(ValueError, match="split must be one of 'train', 'val', 'test' or 'all'; "
                                         "got 'validation'"):
        digits("validation")


def test_uniform_dequantize_stays_within_one_level(seed):
    x = digits("test")
    y = uniform_dequantize(x, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    assert bool(((y - x) >= 0).all() and ((y - x) < 1).all())
    assert 0.45 < float((y - x).mean()) < 0.55
    assert uniform_dequantize(torch.tensor([1, 2])).is_floating_point()


def test_uniform_dequantize_errors():
    with pytest.raises(ValueError, match="must hold integer values"):
        uniform_dequantize(torch.tensor([0.5]))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        uniform_dequantize([1, 2])


@pytest.mark.parametrize("name", sorted(TOY_DATASETS))
def test_toy_datasets_are_reproducible_2d_sets(name):
    a, b = toy_dataset(name, 500, seed=1), toy_dataset(name, 500, seed=1)
    assert a.shape == (500, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, toy_dataset(name, 500, seed=2))
    assert float(a.abs().max()) < 4.5


def test_ring_of_gaussians_puts_every_point_near_a_mode():
    x = ring_of_gaussians(2000, std=0.05)
    distance = torch.cdist(x, ring_modes()).min(1).values
    assert float(distance.max()) < 0.05 * 6
    nearest = torch.cdist(x, ring_modes()).argmin(1)
    assert set(nearest.tolist()) == set(range(8))


def test_checkerboard_only_fills_dark_squares():
    x = checkerboard(4000)
    cell = ((x + 2) // 1).long()
    assert bool(((cell[:, 0] + cell[:, 1]) % 2 == 0).all())


def test_moons_and_spirals_have_the_requested_noise_free_shape():
    assert two_moons(100, noise=0.0).shape == (100, 2)
    radius = spirals(1000, noise=0.0).norm(dim=1)
    assert float(radius.max()) <= 3.0 + 1e-5


@pytest.mark.parametrize(("call", "message"), [
    (lambda: two_moons(0), "n must be a positive int"),
    (lambda: two_moons(10, noise=-1), "noise must be a finite number >= 0"),
    (lambda: ring_of_gaussians(10, std=float("nan")), "std must be a finite number"),
    (lambda: toy_dataset("circles", 10), "name must be one of"),
])
def test_toy_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, compress, dtype):
    array = (np.arange(2 * 3 * 4) % 200).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx", array, compress=compress)
    back = read_idx(path)
    assert back.shape == (2, 3, 4)
    assert np.array_equal(back.numpy(), array)


def test_read_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no IDX file"):
        read_idx(tmp_path / "missing")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="must start with two zero bytes"):
        read_idx(tmp_path / "bad")
    (tmp_path / "type").write_bytes(b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match="type code 0x07; expected one of"):
        read_idx(tmp_path / "type")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match="holds 1 data bytes; its header"):
        read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="array dtype must be one of"):
        write_idx(tmp_path / "x", np.zeros(2, dtype=np.complex64))


def _write_fake_mnist(folder, n=5, gz=True):
    images = np.random.default_rng(0).integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    suffix = ".gz" if gz else ""
    for name, array in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        payload_path = folder / (name + suffix)
        write_idx(folder / name, array)
        if gz:
            payload_path.write_bytes(gzip.compress((folder / name).read_bytes()))
            (folder / name).unlink()
    return images, labels


def test_mnist_reads_local_files_from_argument_or_environment(tmp_path, monkeypatch):
    images, labels = _write_fake_mnist(tmp_path)
    x, y = mnist(tmp_path, "test", labels=True)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    assert np.array_equal(x[:, 0].numpy(), images) and np.array_equal(y.numpy(), labels)
    monkeypatch.setenv("GMLIB_MNIST_DIR", str(tmp_path))
    assert mnist(split="test").shape == (5, 1, 28, 28)
    monkeypatch.setenv("HOME", str(tmp_path.parent))  # "~/folder" as typed on a command line
    assert mnist(f"~/{tmp_path.name}", "test").shape == (5, 1, 28, 28)


def test_mnist_errors_list_the_expected_files(tmp_path, monkeypatch):
    monkeypatch.delenv("GMLIB_MNIST_DIR", raising=False)
    with pytest.raises(ValueError, match="set the environment variable GMLIB_MNIST_DIR"):
        mnist()
    with pytest.raises(FileNotFoundError, match=r"expected train-images-idx3-ubyte\[.gz\], "
                                                r"train-labels-idx1-ubyte\[.gz\]"):
        mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        mnist(tmp_path, "val")


def test_make_loader_reproducible_batches():
    x = torch.arange(10.0).reshape(10, 1)
    a = [b.clone() for b in make_loader(x, batch_size=4, seed=3)]
    b = [b.clone() for b in make_loader(x, batch_size=4, seed=3)]
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert [len(batch) for batch in a] == [4, 4, 2]
    assert isinstance(a[0], torch.Tensor)
    pairs = next(iter(make_loader((x, torch.arange(10)), batch_size=3, shuffle=False)))
    assert torch.equal(pairs[1], torch.tensor([0, 1, 2]))


def test_loader_errors():
    with pytest.raises(TypeError, match="data must be a Tensor, a tuple of Tensors"):
        as_dataset("abc")
    with pytest.raises(ValueError, match="every tensor needs the same number of rows"):
        as_dataset((torch.zeros(3), torch.zeros(4)))
    with pytest.raises(ValueError, match="data is empty"):
        as_dataset(torch.zeros(0, 2))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        make_loader(torch.zeros(3), batch_size=0)
