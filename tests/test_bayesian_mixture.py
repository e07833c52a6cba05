"""BayesianGaussianMixture: the ELBO is exact where it must be, monotone, and prunes components."""

import math
import warnings

import pytest
import torch
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

from gmlib.mixtures import BayesianGaussianMixture
from gmlib.testing import assert_nondecreasing


def _separated(seed=0, per=150):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]], dtype=torch.float64)
    return torch.cat([c + torch.randn(per, 2, generator=gen, dtype=torch.float64)
                      for c in centres])


def _log_evidence(x, model):
    """log p(X) of one Gaussian under the Normal-Wishart prior, in closed form (Murphy 2007)."""
    n, d = x.shape
    scale0, k0 = model.covariance_prior_, model.mean_precision_prior_
    nu0, m0 = model.degrees_of_freedom_prior_, model.mean_prior_
    xbar = x.mean(0)
    scatter = (x - xbar).T @ (x - xbar)
    scale_n = scale0 + scatter + k0 * n / (k0 + n) * torch.outer(xbar - m0, xbar - m0)

    def mvlgamma(a):
        return torch.special.multigammaln(torch.tensor(a, dtype=torch.float64), d)

    return float(-0.5 * n * d * math.log(math.pi) + mvlgamma((nu0 + n) / 2) - mvlgamma(nu0 / 2)
                 + 0.5 * nu0 * torch.logdet(scale0) - 0.5 * (nu0 + n) * torch.logdet(scale_n)
                 + 0.5 * d * math.log(k0 / (k0 + n)))


def test_elbo_of_one_component_is_the_exact_evidence():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 3, generator=gen, dtype=torch.float64) @ torch.randn(
        3, 3, generator=gen, dtype=torch.float64) + 2
    for prior in ({}, {"mean_precision_prior": 0.3, "degrees_of_freedom_prior": 5.5}):
        model = BayesianGaussianMixture(1, max_iter=2, tol=1e-12, **prior).fit(x)
        assert model.lower_bounds_[-1] * len(x) == pytest.approx(_log_evidence(x, model),
                                                                 abs=1e-8)


def test_elbo_never_decreases():
    for seed in range(3):
        model = BayesianGaussianMixture(6, random_state=seed, tol=1e-10, max_iter=500,
                                        weight_concentration_prior=0.05).fit(_separated(seed))
        assert_nondecreasing(model.lower_bounds_, atol=1e-10, name="ELBO")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_components_agree_with_sklearn(seed):
    x = _separated(seed)
    ours = BayesianGaussianMixture(8, weight_concentration_prior=0.01, random_state=seed,
                                   max_iter=500).fit(x)
    theirs = SkBayesianGaussianMixture(
        n_components=8, weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=0.01, random_state=seed, max_iter=500).fit(x.numpy())
    assert ours.n_effective_components_ == int((theirs.weights_ > 0.01).sum()) == 3
    big = torch.sort(ours.weights_, descending=True).values[:3]
    assert sorted(big.tolist()) == pytest.approx(sorted(theirs.weights_)[-3:], abs=0.01)


def test_predictive_density_is_normalised_and_wider_than_plug_in():
    gen = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(30, 1, generator=gen) - 3, torch.randn(30, 1, generator=gen) + 2])
    model = BayesianGaussianMixture(4, random_state=0).fit(x.double())
    # x = 5 tan(theta) maps the whole real line (and its Cauchy-like tails) onto (-pi/2, pi/2)
    theta = torch.linspace(-math.pi / 2, math.pi / 2, 200001, dtype=torch.float64)[1:-1]
    x_grid = 5 * torch.tan(theta)[:, None]
    density = model.log_prob(x_grid).exp() * 5 / torch.cos(theta).square()
    assert float(torch.trapezoid(density, theta)) == pytest.approx(1.0, abs=1e-6)
    far = torch.tensor([[12.0]], dtype=torch.float64)
    plug_in = torch.logsumexp(model.weights_.log() - 0.5 * (
        (far - model.means_.T).square() / model.covariances_[:, 0, 0] + torch.log(
            2 * math.pi * model.covariances_[:, 0, 0])), dim=1)
    assert float(model.log_prob(far)) > float(plug_in)  # Student-t tails


def test_samples_follow_the_predictive_mean():
    torch.manual_seed(0)
    model = BayesianGaussianMixture(5, random_state=0).fit(_separated())
    samples = model.sample(40000)
    mean = (model.weights_[:, None] * model.means_).sum(0)
    torch.testing.assert_close(samples.mean(0), mean, atol=0.08, rtol=0)


def test_prior_errors():
    x = _separated()
    with pytest.raises(ValueError, match="degrees_of_freedom_prior must be > n_features - 1"):
        BayesianGaussianMixture(2, degrees_of_freedom_prior=0.5).fit(x)
    with pytest.raises(ValueError, match=r"mean_prior must have shape \(2,\)"):
        BayesianGaussianMixture(2, mean_prior=torch.zeros(3)).fit(x)
    with pytest.raises(ValueError, match="covariance_prior matrix is not positive definite"):
        BayesianGaussianMixture(2, covariance_prior=-torch.eye(2)).fit(x)
    with pytest.raises(ValueError, match="weight_concentration_prior must be > 0"):
        BayesianGaussianMixture(2, weight_concentration_prior=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BayesianGaussianMixture(3, random_state=0).fit(x)  # converges without a warning
