import math

import numpy as np
import pytest
import torch
from sklearn.naive_bayes import BernoulliNB, CategoricalNB

from gmlib.bayesnet import DiscreteBayesNet, NaiveBayes
from gmlib.data import digits
from gmlib.testing import assert_normalized, assert_samples_match


@pytest.fixture(scope="module")
def binary_digits():
    x, y = digits("train", binarize=True, flatten=True, labels=True)
    x_test = digits("test", binarize=True, flatten=True)
    return x, y, x_test


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.01])
def test_predict_proba_agrees_with_scikit_learn_bernoulli_nb(binary_digits, alpha):
    x, y, x_test = binary_digits
    ours = NaiveBayes(64, 10, alpha=alpha).fit(x, y)
    reference = BernoulliNB(alpha=alpha, force_alpha=True).fit(x.numpy(), y.numpy())
    assert np.abs(ours.predict_proba(x_test).numpy() - reference.predict_proba(x_test.numpy())
                  ).max() < 1e-6
    assert np.allclose(ours.class_log_prior.numpy(), reference.class_log_prior_)
    assert np.allclose(ours.feature_log_prob[..., 1].numpy(), reference.feature_log_prob_)


def test_categorical_features_agree_with_scikit_learn_categorical_nb():
    x, y = digits("train", flatten=True, labels=True)
    x_test = digits("test", flatten=True)
    ours = NaiveBayes(64, 10, n_levels=17, alpha=0.5).fit(x, y)
    reference = CategoricalNB(alpha=0.5, min_categories=17).fit(x.long().numpy(), y.numpy())
    got = ours.predict_proba(x_test).numpy()
    assert np.abs(got - reference.predict_proba(x_test.long().numpy())).max() < 1e-6


def test_naive_bayes_is_the_bayesian_network_y_to_x():
    """The same model as a DiscreteBayesNet with y -> x_d: identical joint probabilities."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(3, (60, 4), generator=gen)
    y = torch.randint(2, (60,), generator=gen)
    nb = NaiveBayes(4, 2, n_levels=3, alpha=0.5, class_alpha=0.5).fit(x, y)
    graph = {"y": [], **{f"x{d}": ["y"] for d in range(4)}}
    net = DiscreteBayesNet(graph, {"y": 2, **{f"x{d}": 3 for d in range(4)}}, alpha=0.5)
    net.fit(torch.cat([y[:, None], x], 1))
    for c in (0, 1):
        joint = nb.log_joint(x.double())[:, c]
        assert torch.allclose(joint, net.log_prob(torch.cat([torch.full((60, 1), c), x], 1)))
    assert nb.n_parameters == net.n_parameters == 1 + 2 * 4 * 2


def test_marginal_and_conditional_densities_are_normalised(seed):
    x = torch.randint(2, (50, 5)).double()
    y = torch.randint(3, (50,))
    nb = NaiveBayes(5, 3, alpha=0.5).fit(x, y)
    assert_normalized(nb.log_prob, 5)
    for c in range(3):
        assert_normalized(lambda v, c=c: nb.log_prob(v, c=c), 5)
    assert_samples_match(nb.sample, nb.log_prob, 5)
    assert_samples_match(lambda n: nb.sample(n, c=2), lambda v: nb.log_prob(v, c=2), 5)


def test_log_prob_is_log_sum_of_the_joint(binary_digits):
    x, y, x_test = binary_digits
    nb = NaiveBayes(64, 10).fit(x, y)
    joint = nb.log_joint(x_test)
    assert torch.allclose(nb.log_prob(x_test), torch.logsumexp(joint, 1))
    labels = torch.arange(len(x_test)) % 10
    conditional = nb.log_prob(x_test, c=labels)
    assert torch.allclose(conditional, joint.gather(1, labels[:, None])[:, 0]
                          - nb.class_log_prior[labels])
    assert float(-nb.log_prob(x_test).mean()) < 24.3  # beats independent Bernoulli pixels


def test_class_conditional_samples_have_the_class_statistics(binary_digits, seed):
    x, y, _ = binary_digits
    nb = NaiveBayes(64, 10).fit(x, y)
    samples = nb.sample(4000, c=3)
    assert samples.shape == (4000, 64)
    assert torch.allclose(samples.mean(0), nb.feature_log_prob[3, :, 1].exp(), atol=0.04)
    mixed = nb.sample(6, c=torch.tensor([0, 1, 2, 3, 4, 5]))
    assert mixed.shape == (6, 64)


def test_missing_features_are_summed_out(binary_digits):
    x, y, x_test = binary_digits
    nb = NaiveBayes(64, 10).fit(x, y)
    mask = torch.zeros(64, dtype=torch.bool)
    mask[32:] = True
    top_half = NaiveBayes(32, 10).fit(x[:, :32], y)
    assert torch.allclose(nb.predict_proba(x_test, mask), top_half.predict_proba(x_test[:, :32]))
    holes = x_test.clone()
    holes[:, 32:] = float("nan")  # missing entries may hold anything
    assert torch.allclose(nb.predict_proba(holes, mask), nb.predict_proba(x_test, mask))


def test_impute_keeps_observed_pixels_and_uses_them(binary_digits, seed):
    x, y, x_test = binary_digits
    nb = NaiveBayes(64, 10).fit(x, y)
    mask = torch.zeros(1, 64, dtype=torch.bool)
    mask[:, 32:] = True
    for method in ("mode", "mean", "sample"):
        filled = nb.impute(x_test, mask, method=method)
        assert filled.shape == x_test.shape
        assert torch.equal(filled[:, :32], x_test[:, :32])
    mode = nb.impute(x_test, mask)
    # the completion depends on the visible half and beats the class-blind per-pixel mode
    blind = (x[:, 32:].mean(0) > 0.5).float()
    accuracy = (mode[:, 32:] == x_test[:, 32:]).float().mean()
    assert accuracy > (blind == x_test[:, 32:]).float().mean()
    mean = nb.impute(x_test, mask, method="mean")
    assert bool(((mean >= 0) & (mean <= 1)).all())


def test_image_shaped_events_and_devices(device):
    x, y = digits("train", binarize=True, labels=True)
    nb = NaiveBayes((1, 8, 8), 10).to(device).fit(x.to(device), y.to(device))
    assert nb.sample(3).shape == (3, 1, 8, 8)
    assert nb.sample(3).device.type == device.type
    assert nb.predict(x[:5].to(device)).shape == (5,)
    mask = torch.zeros(1, 8, 8, dtype=torch.bool, device=device)
    mask[:, 4:] = True
    assert nb.impute(x[:5].to(device), mask).shape == (5, 1, 8, 8)


def test_unseen_class_is_never_predicted():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    nb = NaiveBayes(2, 3).fit(x, torch.tensor([0, 1]))
    assert nb.class_log_prior[2] == -math.inf
    assert torch.all(nb.predict_proba(x)[:, 2] == 0)
    assert torch.isfinite(nb.log_prob(x)).all()


@pytest.mark.parametrize(("call", "match"), [
    (lambda nb: nb.fit(torch.zeros(3, 4), torch.zeros(2)), r"y must have shape \(3,\)"),
    (lambda nb: nb.fit(torch.zeros(3, 4), torch.tensor([0, 1, 5])), "labels 0..2"),
    (lambda nb: nb.fit(torch.full((2, 4), 0.5), torch.zeros(2)), "binary values"),
    (lambda nb: nb.log_prob(torch.zeros(2, 5)), r"shape \(batch, 4\)"),
    (lambda nb: nb.sample(2, c=3), "c must hold class labels"),
    (lambda nb: nb.impute(torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool),
                          method="best"), "method must be"),
    (lambda nb: nb.impute(torch.zeros(2, 4), torch.zeros(3, dtype=torch.bool)),
     "does not broadcast"),
    (lambda nb: nb.fit(torch.zeros(0, 4), torch.zeros(0)), "no examples"),
    (lambda nb: NaiveBayes(4, 3, n_levels=1), "n_levels must be"),
    (lambda nb: NaiveBayes(4, 3, alpha=-0.1), "alpha must be"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(NaiveBayes(4, 3))


def test_mask_must_be_boolean():
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        NaiveBayes(4, 3).impute(torch.zeros(2, 4), torch.zeros(2, 4))
