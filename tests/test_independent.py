import math

import numpy as np
import pytest
import torch
from sklearn.naive_bayes import BernoulliNB

from gmlib.data import digits
from gmlib.independent import IndependentBernoulli, IndependentCategorical, UniformCategorical
from gmlib.testing import assert_normalized, assert_samples_match


def test_unfitted_categorical_is_uniform():
    model = IndependentCategorical((64,), 17)
    x = digits("test", flatten=True)
    assert torch.allclose(model.log_prob(x), torch.full((447,), -64 * math.log(17)))


def test_fit_counts_with_add_alpha_smoothing():
    x = torch.tensor([[0.0, 2.0], [0.0, 1.0], [1.0, 2.0]])
    model = IndependentCategorical(2, 3, alpha=0.5).fit(x)
    expected = torch.tensor([[2.5, 1.5, 0.5], [0.5, 1.5, 2.5]]) / 4.5
    assert torch.allclose(model.probs, expected)
    assert model.n_parameters == 4


@pytest.mark.parametrize(("n_dims", "n_levels"), [(4, 2), (3, 3), (2, 5)])
def test_fitted_model_is_normalised_and_samples_follow_it(seed, n_dims, n_levels):
    x = torch.randint(n_levels, (40, n_dims)).double()
    model = IndependentCategorical(n_dims, n_levels, alpha=0.3).double().fit(x)
    assert_normalized(model.log_prob, n_dims, n_levels=n_levels)
    assert_samples_match(model.sample, model.log_prob, n_dims, n_levels=n_levels)


def test_bernoulli_matches_scikit_learn_bernoulli_nb():
    """With one class, BernoulliNB's feature_log_prob_ is exactly our smoothed fit."""
    x = digits("train", binarize=True, flatten=True)
    ours = IndependentBernoulli(64, alpha=0.5).double().fit(x.double())
    reference = BernoulliNB(alpha=0.5).fit(x.numpy(), np.zeros(len(x)))
    assert np.allclose(np.log(ours.mean.numpy()), reference.feature_log_prob_[0])


def test_image_shaped_events(device):
    x = digits("train").to(device)
    model = IndependentCategorical((1, 8, 8), 17).to(device).fit(x)
    assert model.log_prob(x[:5]).shape == (5,)
    assert model.sample(3).shape == (3, 1, 8, 8)
    assert model.sample(3).device.type == device.type


def test_baseline_numbers_on_the_digits_protocol():
    """The reference values quoted by the course: 64 ln 17 and 106.4 nats on the test split."""
    train, test = digits("train"), digits("test")
    uniform = UniformCategorical((1, 8, 8), 17)
    assert float(-uniform.log_prob(test).mean()) == pytest.approx(64 * math.log(17))
    assert uniform.n_parameters == 0 and uniform.fit(train) is uniform
    model = IndependentCategorical((1, 8, 8), 17, alpha=0.5).fit(train)
    assert float(-model.log_prob(test).mean()) == pytest.approx(106.4, abs=0.05)


def test_plain_mle_gives_minus_infinity_on_unseen_levels():
    """Why the smoothing matters: alpha = 0 assigns probability 0 to unseen values."""
    model = IndependentBernoulli(2, alpha=0.0).fit(torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert float(model.log_prob(torch.tensor([[1.0, 1.0]]))) == -math.inf


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: IndependentCategorical(4, 1), ValueError, "n_levels must be an int >= 2; got 1"),
    (lambda: IndependentCategorical(4, 3, alpha=-1), ValueError, "alpha must be a finite number"),
    (lambda: IndependentBernoulli(3).fit(torch.tensor([[0.0, 2.0, 1.0]])), ValueError,
     r"binary values \{0, 1\}; got 1 entries outside it \(e.g. 2\)"),
    (lambda: IndependentCategorical(2, 17).log_prob(torch.tensor([[0.0, 17.0]])), ValueError,
     r"integer levels \{0, ..., 16\}"),
    (lambda: IndependentCategorical(64, 17).log_prob(torch.zeros(2, 1, 8, 8)), ValueError,
     r"x must have shape \(batch, 64\); got \(2, 1, 8, 8\); reshape it"),
    (lambda: IndependentBernoulli(2).fit(torch.tensor([[float("nan"), 0.0]])), ValueError,
     "x must hold finite values"),
    (lambda: IndependentBernoulli(2, alpha=0).fit(torch.zeros(0, 2)), ValueError,
     "at least one example when alpha == 0"),
])
def test_bad_input_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
