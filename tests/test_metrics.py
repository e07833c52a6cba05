import math

import pytest
import torch

from gmlib.data import digits
from gmlib.independent import IndependentCategorical
from gmlib.metrics import bits_per_dim, dataset_log_likelihood, nats_to_bits, nll


def test_dataset_log_likelihood_batches_agree_with_one_pass(device):
    model = IndependentCategorical((1, 8, 8), 17).fit(digits("train")).to(device)
    test = digits("test")
    full = model.log_prob(test.to(device)).cpu()
    batched = dataset_log_likelihood(model, test, batch_size=100)
    assert batched.shape == (447,) and batched.device.type == "cpu"
    assert torch.allclose(full, batched)
    assert nll(model, test) == pytest.approx(float(-full.mean()), rel=1e-6)


def test_dataset_log_likelihood_accepts_a_function():
    values = dataset_log_likelihood(lambda x: -x.sum(1), torch.ones(5, 3), batch_size=2)
    assert torch.equal(values, torch.full((5,), -3.0))


def test_units():
    assert nats_to_bits(math.log(2)) == pytest.approx(1.0)
    assert bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    assert bits_per_dim(64 * math.log(17), 64) == pytest.approx(math.log2(17))


def test_metric_errors():
    with pytest.raises(TypeError, match="has no log_prob; pass a function"):
        nll(torch.nn.Linear(2, 2), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="model must be an nn.Module with log_prob or a function"):
        nll(3, torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"returned shape \(3, 2\) for a batch of 3; expected"):
        nll(lambda x: x, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="at least one example"):
        nll(lambda x: x.sum(1), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="n_dims must be a positive int"):
        bits_per_dim(1.0, 0)


def test_dequantized_bound_is_below_the_discrete_likelihood_and_tightens():
    from gmlib.metrics import dequantized_log_likelihood

    normal = torch.distributions.Normal(torch.tensor(1.3, dtype=torch.float64), 0.8)
    x = torch.arange(-1, 4, dtype=torch.float64)[:, None]
    exact = torch.log(normal.cdf(x[:, 0] + 1) - normal.cdf(x[:, 0]))  # P(x) = int_x^{x+1} p

    def log_density(v):
        return normal.log_prob(v[:, 0])

    torch.manual_seed(0)
    one = torch.stack([dequantized_log_likelihood(log_density, x) for _ in range(4000)]).mean(0)
    many = dequantized_log_likelihood(log_density, x, n_samples=20000)
    assert bool((one < exact - 1e-3).all())  # Jensen's gap is strictly positive here
    torch.testing.assert_close(many, exact, atol=2e-2, rtol=0)
    assert bool((many > one).all())
    with pytest.raises(ValueError, match="n_samples"):
        dequantized_log_likelihood(log_density, x, n_samples=0)


def test_fitted_estimators_raise_not_fitted_as_attribute_errors():
    from gmlib.exceptions import NotFittedError
    from gmlib.mixtures import GaussianMixture

    model = GaussianMixture(2)
    assert not hasattr(model, "weights_")  # NotFittedError is an AttributeError
    with pytest.raises(NotFittedError, match="lower_bounds_"):
        _ = model.lower_bounds_
    with pytest.raises(AttributeError, match="no_such"):
        _ = model.no_such
    with pytest.raises(ValueError, match="dtype"):
        GaussianMixture(2, dtype=torch.int64)
    with pytest.raises(ValueError, match="random_state"):
        GaussianMixture(2, random_state=-1)
    with pytest.raises(ValueError, match="tol"):
        GaussianMixture(2, tol=-1.0)
