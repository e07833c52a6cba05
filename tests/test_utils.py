import math
import random

import numpy as np
import pytest
import torch

from gmlib.utils import (
    count_parameters,
    enumerate_binary,
    enumerate_discrete,
    get_device,
    glue,
    logmeanexp,
    seed_everything,
)


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])


def test_seed_everything_returns_a_seeded_generator():
    a = torch.rand(2, generator=seed_everything(5))
    b = torch.rand(2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_everything(bad)


def test_get_device_auto_and_names():
    auto = get_device("auto")
    assert auto.type in {"cpu", "cuda"}
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


def test_auto_never_picks_mps_which_has_no_float64(monkeypatch):
    """On a Mac (MPS simulated here): 'auto' is the CPU, an explicit 'mps' warns why."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device("auto") == torch.device("cpu")
    with pytest.warns(UserWarning, match="MPS has no float64"):
        assert get_device("mps").type == "mps"


def test_get_device_rejects_unknown_names():
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu'"):
        get_device("gpu-please")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_get_device_refuses_missing_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device("cuda")


def test_enumerate_binary_lists_every_vector_once_in_order():
    x = enumerate_binary(3)
    assert x.shape == (8, 3)
    assert x.dtype == torch.float32
    assert x[5].tolist() == [1.0, 0.0, 1.0]  # row i is the binary expansion of i
    assert len({tuple(r) for r in x.tolist()}) == 8


def test_enumerate_discrete_levels():
    x = enumerate_discrete(2, 3, dtype=torch.float64)
    assert x.shape == (9, 2) and x.dtype == torch.float64
    assert x[7].tolist() == [2.0, 1.0]


@pytest.mark.parametrize(("n_dims", "n_levels", "message"), [
    (0, 2, "n_dims must be a positive int"),
    (3, 1, "n_levels must be an int >= 2"),
    (40, 2, "too large"),
])
def test_enumerate_discrete_errors(n_dims, n_levels, message):
    with pytest.raises(ValueError, match=message):
        enumerate_discrete(n_dims, n_levels)


def test_logmeanexp_matches_the_direct_formula_and_is_stable():
    x = torch.randn(4, 7, dtype=torch.float64)
    direct = torch.log(torch.exp(x).mean(1))
    assert torch.allclose(logmeanexp(x, dim=1), direct)
    big = torch.tensor([1000.0, 1000.0])
    assert float(logmeanexp(big)) == pytest.approx(1000.0)
    assert logmeanexp(x, dim=1, keepdim=True).shape == (4, 1)


def test_logmeanexp_errors():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        logmeanexp([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one value"):
        logmeanexp(torch.empty(3, 0), dim=1)


def test_count_parameters():
    layer = torch.nn.Linear(3, 2)
    assert count_parameters(layer) == 8
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 6
    assert count_parameters(layer, trainable_only=False) == 8


def test_glue_returns_the_value_outside_a_book_build():
    assert glue("x", math.pi) == math.pi


def test_exceptions_fit_scikit_learn_habits():
    from gmlib.exceptions import ConvergenceWarning, NotFittedError

    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceWarning, UserWarning)
