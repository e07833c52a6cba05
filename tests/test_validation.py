import numpy as np
import pytest
import torch

from gmlib.validation import (
    Support,
    check_event_shape,
    check_finite,
    check_positive_int,
    check_support,
    check_tensor,
    format_shape,
)


def test_format_shape():
    assert format_shape((3,)) == "(3,)"
    assert format_shape(("batch", 1, 8, 8)) == "(batch, 1, 8, 8)"


def test_check_tensor_names_the_type_and_suggests_a_fix_for_arrays():
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor; got ndarray \(convert"):
        check_tensor(np.zeros(3))
    with pytest.raises(TypeError, match="data must be a torch.Tensor; got list"):
        check_tensor([1], "data")


@pytest.mark.parametrize("bad", [0, -2, 1.0, True, "3"])
def test_check_positive_int(bad):
    with pytest.raises(ValueError, match="n must be a positive int"):
        check_positive_int(bad)
    assert check_positive_int(3) == 3


def test_check_event_shape_messages():
    x = torch.zeros(5, 1, 8, 8)
    assert check_event_shape(x, (1, 8, 8)) is x
    with pytest.raises(ValueError, match=r"must have shape \(batch, 1, 8, 8\); got \(1, 8, 8\); "
                                         r"for a single example use x.unsqueeze\(0\)"):
        check_event_shape(torch.zeros(1, 8, 8), (1, 8, 8))
    with pytest.raises(ValueError,
                       match=r"got \(5, 64\); reshape it with x.reshape\(-1, 1, 8, 8\)"):
        check_event_shape(torch.zeros(5, 64), (1, 8, 8))
    with pytest.raises(ValueError, match=r"must have shape \(batch, 64\); got \(5, 63\)"):
        check_event_shape(torch.zeros(5, 63), (64,))


def test_check_finite():
    with pytest.raises(ValueError, match="must hold finite values; got 2 NaN or infinite"):
        check_finite(torch.tensor([0.0, float("nan"), float("inf")]))
    ints = torch.tensor([1, 2])
    assert check_finite(ints) is ints


def test_support_constructors_and_text():
    assert str(Support.real()) == "real values"
    assert Support.levels(2) == Support.binary()
    assert "0, ..., 16" in str(Support.levels(17))
    with pytest.raises(ValueError, match="Support kind must be"):
        Support("complex")
    with pytest.raises(ValueError, match="needs n_levels >= 2"):
        Support("levels", 1)


def test_check_support_binary_and_levels():
    check_support(torch.tensor([0.0, 1.0]), Support.binary())
    with pytest.raises(ValueError, match=r"must hold binary values \{0, 1\}; got 1 entries outside "
                                         r"it \(e.g. 3\); binarise it first"):
        check_support(torch.tensor([0.0, 3.0]), Support.binary())
    check_support(torch.tensor([0.0, 16.0]), Support.levels(17))
    with pytest.raises(ValueError, match="got 1 entries outside it .e.g. 2.5.; quantise"):
        check_support(torch.tensor([2.5]), Support.levels(17))
    with pytest.raises(ValueError, match="e.g. -1"):
        check_support(torch.tensor([-1.0]), Support.levels(17))
    with pytest.raises(ValueError, match="finite"):
        check_support(torch.tensor([float("nan")]), Support.real())
