"""The property checks must pass on correct models and fail, clearly, on broken ones."""

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from gmlib.independent import IndependentBernoulli
from gmlib.testing import (
    assert_autoregressive,
    assert_invertible,
    assert_nondecreasing,
    assert_normalized,
    assert_samples_match,
    chi_square_pvalue,
)


def test_normalisation_passes_and_fails(seed):
    model = IndependentBernoulli(5).double().fit(torch.randint(2, (30, 5)).double())
    assert assert_normalized(model.log_prob, 5) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(AssertionError, match="probabilities sum to 2.0000000000 over all 32"):
        assert_normalized(lambda x: model.log_prob(x) + np.log(2.0), 5)
    with pytest.raises(AssertionError, match=r"log_prob returned shape \(32, 1\)"):
        assert_normalized(lambda x: model.log_prob(x)[:, None], 5)


def test_normalisation_with_levels_and_event_shape():
    uniform = lambda x: torch.full((x.shape[0],), -4 * np.log(3.0), dtype=x.dtype)  # noqa: E731
    assert assert_normalized(uniform, 4, n_levels=3, event_shape=(2, 2)) == pytest.approx(1.0)


class _MaskedLinear(nn.Module):
    """out_i = sum_{j<i} W_ij x_j: autoregressive iff the mask is strictly lower triangular."""

    def __init__(self, d: int, mask: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d, d, dtype=torch.float64))
        self.register_buffer("mask", mask)

    def forward(self, x: Tensor) -> Tensor:
        return x @ (self.weight * self.mask).T


def test_autoregressive_property(seed):
    d = 5
    good = _MaskedLinear(d, torch.tril(torch.ones(d, d, dtype=torch.float64), -1))
    dependency = assert_autoregressive(good, d)
    assert dependency.shape == (d, d) and float(dependency.triu().abs().sum()) == 0.0
    leaky = _MaskedLinear(d, torch.tril(torch.ones(d, d, dtype=torch.float64), 0))
    with pytest.raises(AssertionError, match="output 0 depends on inputs \\[0\\]"):
        assert_autoregressive(leaky, d)


def test_autoregressive_property_under_an_order(seed):
    order = [2, 0, 1]
    # output 2 sees nothing, output 0 sees x2, output 1 sees x2 and x0
    mask = torch.tensor([[0, 0, 1], [1, 0, 1], [0, 0, 0]], dtype=torch.float64)
    assert_autoregressive(_MaskedLinear(3, mask), 3, order=order)
    with pytest.raises(AssertionError, match="output 0 depends on inputs \\[2\\]"):
        assert_autoregressive(_MaskedLinear(3, mask), 3)
    with pytest.raises(ValueError, match="order must be a permutation"):
        assert_autoregressive(_MaskedLinear(3, mask), 3, order=[0, 0, 1])


class _Affine(nn.Module):
    """z = a * x + b elementwise, log|det| = sum log|a| (optionally wrong on purpose)."""

    def __init__(self, d: int, wrong_log_det: bool = False, wrong_inverse: bool = False):
        super().__init__()
        self.a = torch.linspace(0.5, 2.0, d, dtype=torch.float64)
        self.b = torch.ones(d, dtype=torch.float64)
        self.wrong_log_det, self.wrong_inverse = wrong_log_det, wrong_inverse

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        log_det = self.a.abs().log().sum().expand(x.shape[0])
        return self.a * x + self.b, log_det + (1.0 if self.wrong_log_det else 0.0)

    def inverse(self, z: Tensor) -> Tensor:
        return (z - self.b) / self.a + (0.1 if self.wrong_inverse else 0.0)


def test_invertibility_and_log_det_checks(seed):
    x = torch.randn(3, 4, dtype=torch.float64)
    assert assert_invertible(_Affine(4), x) < 1e-10
    with pytest.raises(AssertionError, match="inverse\\(forward\\(x\\)\\) differs from x"):
        assert_invertible(_Affine(4, wrong_inverse=True), x)
    with pytest.raises(AssertionError, match="log\\|det J\\| at example 0"):
        assert_invertible(_Affine(4, wrong_log_det=True), x)


def test_goodness_of_fit(seed):
    model = IndependentBernoulli(3).double().fit(torch.tensor([[1.0, 0.0, 1.0]] * 5))
    assert assert_samples_match(model.sample, model.log_prob, 3) > 1e-3
    uniform_sampler = lambda n: torch.randint(2, (n, 3)).double()  # noqa: E731
    with pytest.raises(AssertionError, match="samples do not follow exp\\(log_prob\\)"):
        assert_samples_match(uniform_sampler, model.log_prob, 3)
    with pytest.raises(AssertionError, match="samples must be integers in 0..1"):
        assert_samples_match(lambda n: torch.full((n, 3), 0.5), model.log_prob, 3)


def test_chi_square_pools_small_cells():
    assert chi_square_pvalue(np.array([50, 50, 0]), np.array([0.5, 0.5, 1e-9])) > 0.9
    assert chi_square_pvalue(np.array([100, 0]), np.array([0.5, 0.5])) < 1e-10


def test_nondecreasing():
    assert_nondecreasing([1.0, 2.0, 2.0, 3.0])
    assert_nondecreasing([1.0, 1.0 - 1e-12])
    with pytest.raises(AssertionError, match="the lower bound decreased from 2 to 1.5 at "
                                             "iteration 2"):
        assert_nondecreasing([1.0, 2.0, 1.5])
    with pytest.raises(ValueError, match="non-empty 1-D sequence"):
        assert_nondecreasing([])
