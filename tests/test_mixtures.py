"""GaussianMixture and BernoulliMixture: agreement with scikit-learn, EM monotonicity, errors."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gmlib.exceptions import ConvergenceWarning, NotFittedError
from gmlib.mixtures import COVARIANCE_TYPES, BernoulliMixture, GaussianMixture
from gmlib.testing import assert_nondecreasing, assert_normalized, assert_samples_match


def _blobs(seed=0, n=(120, 150, 90)):
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    parts = [torch.randn(n[0], 3, generator=gen, dtype=torch.float64) + 4,
             0.5 * torch.randn(n[1], 3, generator=gen, dtype=torch.float64),
             torch.randn(n[2], 3, generator=gen, dtype=torch.float64) @ mix - 4]
    return torch.cat(parts)


def _quiet_fit(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("steps", [1, 4, 10])
def test_em_steps_match_sklearn(covariance_type, steps):
    x = _blobs()
    start = _quiet_fit(GaussianMixture(3, covariance_type=covariance_type, max_iter=1, tol=0,
                                       random_state=1), x)
    init = {"weights_init": start.weights_, "means_init": start.means_,
            "precisions_init": start.precisions_}
    ours = _quiet_fit(GaussianMixture(3, covariance_type=covariance_type, max_iter=steps,
                                      tol=0, **init), x)
    theirs = _quiet_fit(SkGaussianMixture(3, covariance_type=covariance_type, max_iter=steps,
                                          tol=0, **{k: v.numpy() for k, v in init.items()}),
                        x.numpy())
    np.testing.assert_allclose(ours.weights_.numpy(), theirs.weights_, atol=1e-6)
    np.testing.assert_allclose(ours.means_.numpy(), theirs.means_, atol=1e-6)
    np.testing.assert_allclose(ours.covariances_.numpy(), theirs.covariances_, atol=1e-6)
    np.testing.assert_allclose(ours.precisions_.numpy(), theirs.precisions_, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, atol=1e-6)
    assert ours.score(x) == pytest.approx(theirs.score(x.numpy()), abs=1e-6)
    np.testing.assert_allclose(ours.score_samples(x).numpy(), theirs.score_samples(x.numpy()),
                               atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(x).numpy(), theirs.predict_proba(x.numpy()),
                               atol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converged_fit_matches_sklearn_likelihood(covariance_type):
    x = _blobs(1)
    ours = GaussianMixture(3, covariance_type=covariance_type, n_init=3, random_state=0,
                           tol=1e-8, max_iter=500).fit(x)
    theirs = SkGaussianMixture(3, covariance_type=covariance_type, n_init=3, random_state=0,
                               tol=1e-8, max_iter=500).fit(x.numpy())
    assert ours.converged_
    assert ours.score(x) == pytest.approx(theirs.score(x.numpy()), abs=1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init", ["kmeans++", "random"])
def test_gaussian_em_never_decreases(covariance_type, init):
    for seed in range(3):
        model = _quiet_fit(GaussianMixture(4, covariance_type=covariance_type, init=init,
                                           tol=1e-10, max_iter=300, random_state=seed),
                           _blobs(seed))
        assert_nondecreasing(model.lower_bounds_, atol=1e-10)
        assert model.n_iter_ == len(model.lower_bounds_)
        assert model.lower_bound_ == model.lower_bounds_[-1]


def test_predict_log_prob_and_normalisation():
    x = _blobs()
    model = GaussianMixture(3, random_state=0).fit(x)
    proba = model.predict_proba(x)
    torch.testing.assert_close(proba.sum(1), torch.ones(len(x), dtype=torch.float64))
    assert torch.equal(model.predict(x), proba.argmax(1))
    assert model.score(x) == pytest.approx(float(model.log_prob(x).mean()))
    # a 1-D mixture integrates to one on a fine grid
    one_d = GaussianMixture(2, random_state=0).fit(torch.cat(
        [torch.randn(200, 1) - 2, 0.5 * torch.randn(200, 1) + 1]).double())
    grid = torch.linspace(-12, 12, 20001, dtype=torch.float64)[:, None]
    mass = torch.trapezoid(one_d.log_prob(grid).exp(), grid[:, 0])
    assert float(mass) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_samples_match_fitted_moments(covariance_type):
    torch.manual_seed(0)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(_blobs())
    samples, components = model.sample_with_components(60000)
    assert samples.shape == (60000, 3) and samples.dtype == torch.float64
    weights = torch.bincount(components, minlength=3).double() / len(components)
    torch.testing.assert_close(weights, model.weights_, atol=0.01, rtol=0)
    mean = (model.weights_[:, None] * model.means_).sum(0)
    torch.testing.assert_close(samples.mean(0), mean, atol=0.05, rtol=0)
    for k in range(3):
        own = samples[components == k]
        cov = model.covariances_[k]
        cov = cov if covariance_type == "full" else torch.diag(cov.expand(3))
        torch.testing.assert_close(torch.cov(own.T), cov, atol=0.06, rtol=0.03)


def test_bic_prefers_the_true_number_of_components():
    x = _blobs()
    bics = [GaussianMixture(k, random_state=0, n_init=2).fit(x).bic(x) for k in range(1, 7)]
    assert int(np.argmin(bics)) + 1 == 3


def test_errors_are_clear():
    model = GaussianMixture(3)
    with pytest.raises(NotFittedError, match="fit"):
        model.log_prob(torch.zeros(2, 3))
    with pytest.raises(NotFittedError, match="means_"):
        _ = model.means_
    with pytest.raises(NotFittedError, match="fit"):
        model.sample(3)
    with pytest.raises(ValueError, match="n_samples=2.*n_components=3"):
        model.fit(torch.randn(2, 4))
    bad = torch.randn(10, 2)
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        model.fit(bad)
    with pytest.raises(ValueError, match="n_samples, n_features"):
        model.fit(torch.randn(10))
    model.fit(torch.randn(30, 2))
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        model.log_prob(torch.randn(5, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model.fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, covariance_type="tied")
    with pytest.raises(ValueError, match="init must be"):
        GaussianMixture(2, init="kmeans")
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(0)
    with pytest.raises(ValueError, match="means_init must have shape"):
        GaussianMixture(2, means_init=torch.zeros(3, 2)).fit(torch.randn(20, 2))
    with pytest.raises(ValueError, match="sum to one"):
        GaussianMixture(2, weights_init=torch.tensor([0.7, 0.7])).fit(torch.randn(20, 2))


def test_convergence_warning():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        model = GaussianMixture(3, max_iter=2, tol=1e-12, random_state=0).fit(_blobs())
    assert not model.converged_ and model.n_iter_ == 2


def test_collapsed_component_is_reported():
    x = torch.cat([torch.zeros(5, 2), torch.randn(20, 2) + 10]).double()
    start = {"means_init": torch.tensor([[0.0, 0.0], [10.0, 10.0]]),
             "weights_init": torch.tensor([0.5, 0.5])}
    with pytest.raises(ValueError, match="reg_covar"):  # five copies of one point
        _quiet_fit(GaussianMixture(2, reg_covar=0.0, max_iter=5, **start), x)


def test_gaussian_mixture_follows_the_data_device(device):
    x = _blobs().to(device)
    model = GaussianMixture(3, random_state=0).fit(x)
    assert model.means_.device.type == device.type
    assert model.log_prob(x).device.type == device.type
    assert model.sample(5).device.type == device.type


def _binary_mixture_data(seed=0, n=600):
    gen = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(3, 12, generator=gen) < 0.5
    which = torch.randint(3, (n,), generator=gen)
    flips = torch.rand(n, 12, generator=gen) < 0.1
    return (prototypes[which] ^ flips).double(), which


def test_bernoulli_mixture_recovers_prototypes_and_is_monotone():
    x, which = _binary_mixture_data()
    for alpha in (1e-3, 0.5):
        model = BernoulliMixture(3, alpha=alpha, random_state=0, tol=1e-10, max_iter=300).fit(x)
        assert_nondecreasing(model.lower_bounds_, atol=1e-10)
    labels = model.predict(x)
    agreement = max(float((labels == torch.tensor(perm)[which]).double().mean())
                    for perm in itertools.permutations(range(3)))
    assert agreement > 0.95


def test_bernoulli_mixture_is_normalised_and_samples_match():
    x, _ = _binary_mixture_data(n=300)
    model = BernoulliMixture(3, random_state=0).fit(x[:, :8])
    assert_normalized(model.log_prob, 8, atol=1e-9)
    torch.manual_seed(0)
    assert_samples_match(model.sample, model.log_prob, 8)


def test_bernoulli_mixture_without_smoothing_explains_a_zero_probability():
    train = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    model = BernoulliMixture(1, alpha=0.0).fit(train)
    assert float(model.log_prob(torch.tensor([[1.0, 0.0]]))) == float("-inf")


def test_bernoulli_mixture_rejects_non_binary_data():
    with pytest.raises(ValueError, match="binary"):
        BernoulliMixture(2).fit(torch.rand(10, 4))
    with pytest.raises(ValueError, match="alpha"):
        BernoulliMixture(2, alpha=-1)
