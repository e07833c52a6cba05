"""PCA, PPCA, factor analysis and Student-t PPCA against scikit-learn and their own claims."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SkPCA
from sklearn.decomposition import FactorAnalysis as SkFactorAnalysis

from gmlib.exceptions import NotFittedError
from gmlib.linear import PCA, PPCA, FactorAnalysis, StudentTPPCA, subspace_angle
from gmlib.testing import assert_nondecreasing


def _low_rank(seed=0, n=400, d=6, q=2, noise=0.3, heteroscedastic=False):
    gen = torch.Generator().manual_seed(seed)
    w = 2 * torch.randn(d, q, generator=gen, dtype=torch.float64)
    z = torch.randn(n, q, generator=gen, dtype=torch.float64)
    scale = noise * (torch.linspace(0.5, 3, d, dtype=torch.float64) if heteroscedastic else 1)
    eps = torch.randn(n, d, generator=gen, dtype=torch.float64) * scale
    return z @ w.T + eps + 1.5, w


def test_pca_matches_sklearn():
    x, _ = _low_rank()
    ours, theirs = PCA(2).fit(x), SkPCA(2).fit(x.numpy())
    np.testing.assert_allclose(ours.components_.numpy(), theirs.components_, atol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_.numpy(), theirs.explained_variance_,
                               rtol=1e-10)
    assert float(ours.noise_variance_) == pytest.approx(theirs.noise_variance_, rel=1e-10)
    np.testing.assert_allclose(ours.log_prob(x).numpy(), theirs.score_samples(x.numpy()),
                               rtol=1e-10)
    np.testing.assert_allclose(ours.transform(x).numpy(), theirs.transform(x.numpy()),
                               atol=1e-10)


def test_ppca_log_prob_matches_sklearn_score_samples():
    x, _ = _low_rank(1)
    n = len(x)
    ppca, sk = PPCA(2).fit(x), SkPCA(2).fit(x.numpy())
    # PPCA is the maximum-likelihood fit (1/N covariance); scikit-learn's PCA uses 1/(N - 1)
    np.testing.assert_allclose((ppca.loadings.square().sum(0) + ppca.noise_variance_).numpy(),
                               sk.explained_variance_ * (n - 1) / n, rtol=1e-10)
    assert float(ppca.noise_variance_) == pytest.approx(sk.noise_variance_ * (n - 1) / n)
    # the same density formula: load scikit-learn's parameters into a PPCA and compare
    ppca.components_ = torch.as_tensor(
        sk.components_.T * np.sqrt(sk.explained_variance_ - sk.noise_variance_)).T
    ppca.noise_variance_ = torch.tensor(sk.noise_variance_, dtype=torch.float64)
    np.testing.assert_allclose(ppca.log_prob(x).numpy(), sk.score_samples(x.numpy()), rtol=1e-10)


def test_ppca_em_reaches_the_closed_form():
    x, _ = _low_rank(2, noise=0.5)
    closed = PPCA(2).fit(x)
    em = PPCA(2, method="em", tol=1e-13, max_iter=5000).fit(x)
    assert em.converged_
    assert_nondecreasing(em.lower_bounds_, atol=1e-12)
    torch.testing.assert_close(em.covariance_, closed.covariance_, atol=1e-4, rtol=0)
    assert em.score(x) == pytest.approx(closed.score(x), abs=1e-9)
    assert subspace_angle(em.loadings, closed.loadings) < 0.01


def test_closed_form_is_the_maximum():
    x, _ = _low_rank(3)
    best = PPCA(2).fit(x)
    for scale in (0.9, 1.1):
        other = PPCA(2).fit(x)
        other.noise_variance_ = other.noise_variance_ * scale
        assert other.score(x) < best.score(x)


def test_factor_analysis_matches_sklearn():
    x, _ = _low_rank(4, heteroscedastic=True)
    ours = FactorAnalysis(2, tol=1e-12, max_iter=20000).fit(x)
    theirs = SkFactorAnalysis(2, tol=1e-12, max_iter=20000).fit(x.numpy())
    assert_nondecreasing(ours.lower_bounds_, atol=1e-12)
    assert ours.score(x) == pytest.approx(theirs.score(x.numpy()), abs=1e-6)
    np.testing.assert_allclose(ours.noise_variance_.numpy(), theirs.noise_variance_, rtol=1e-3)
    np.testing.assert_allclose(ours.covariance_.numpy(), theirs.get_covariance(), atol=1e-3)
    np.testing.assert_allclose(ours.log_prob(x).numpy(), theirs.score_samples(x.numpy()),
                               atol=1e-4)


def test_factor_analysis_explains_a_noisy_feature_where_ppca_does_not():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(2000, 1, generator=gen, dtype=torch.float64)
    x = z @ torch.ones(1, 5, dtype=torch.float64) + 0.1 * torch.randn(2000, 5, generator=gen,
                                                                      dtype=torch.float64)
    x[:, 4] = 5 * torch.randn(2000, generator=gen, dtype=torch.float64)  # pure noise, large
    direction = torch.tensor([[1.0, 1, 1, 1, 0]], dtype=torch.float64).T
    fa, ppca = FactorAnalysis(1).fit(x), PPCA(1).fit(x)
    assert subspace_angle(fa.loadings, direction) < 2
    assert subspace_angle(ppca.loadings, direction) > 80  # PPCA's axis turns to the noise


def test_posterior_of_z_matches_the_joint_gaussian():
    x, _ = _low_rank(5, n=50)
    for model in (PPCA(2).fit(x), FactorAnalysis(2).fit(x)):
        w, psi = model.loadings, torch.diag(model.noise_diagonal())
        cov_x = w @ w.T + psi  # z and x are jointly Gaussian with Cov[z, x] = W^T
        mean, cov = model.posterior(x)
        gain = w.T @ torch.linalg.inv(cov_x)
        torch.testing.assert_close(mean, (x - model.mean_) @ gain.T)
        torch.testing.assert_close(cov, torch.eye(2, dtype=torch.float64) - gain @ w)


def test_pca_noiseless_samples_lie_on_the_subspace():
    torch.manual_seed(0)
    x, _ = _low_rank(6)
    model = PCA(2).fit(x)
    flat = model.sample(5000, noise=False)
    residual = (flat - model.mean_) - (flat - model.mean_) @ model.components_.T @ (
        model.components_)
    assert float(residual.abs().max()) < 1e-10
    torch.testing.assert_close(torch.var(model.transform(flat), 0), model.explained_variance_,
                               rtol=0.05, atol=0)
    noisy = model.sample(20000)
    torch.testing.assert_close(torch.cov(noisy.T), model.covariance_, atol=0.15, rtol=0.05)


@pytest.mark.parametrize("cls", [PPCA, FactorAnalysis, StudentTPPCA])
def test_samples_match_fitted_moments(cls):
    torch.manual_seed(0)
    x, _ = _low_rank(7)
    model = cls(2).fit(x)
    samples = model.sample(50000)
    torch.testing.assert_close(samples.mean(0), model.mean_, atol=0.05, rtol=0)
    want = model.covariance_
    if cls is StudentTPPCA:  # the t's covariance is nu / (nu - 2) times its scale matrix
        df = float(model.df_)
        want = want * df / (df - 2)
    torch.testing.assert_close(torch.cov(samples.T), want, atol=0.1, rtol=0.05)


def _contaminated(fraction, seed=0):
    x, w = _low_rank(seed, n=400, d=8, noise=0.3)
    gen = torch.Generator().manual_seed(seed + 100)
    n_out = int(fraction * len(x))
    x[:n_out] = 1.5 + 30 * torch.randn(n_out, 8, generator=gen, dtype=torch.float64)
    return x, w


def test_student_t_recovers_the_subspace_under_outliers():
    x, w = _contaminated(0.05)
    robust, gaussian = StudentTPPCA(2).fit(x), PPCA(2).fit(x)
    assert_nondecreasing(robust.lower_bounds_, atol=1e-9)
    angle_t, angle_gauss = subspace_angle(robust.loadings, w), subspace_angle(gaussian.loadings, w)
    assert angle_t < 3 < 30 < angle_gauss
    assert float(robust.weights_[:20].mean()) < 0.2 * float(robust.weights_[20:].mean())
    assert robust.score(x) > gaussian.score(x)


def test_student_t_log_prob_is_a_density():
    x, _ = _low_rank(8, d=2, q=1)
    model = StudentTPPCA(1).fit(x)
    lo, hi = x.min(0).values - 40, x.max(0).values + 40
    g0 = torch.linspace(float(lo[0]), float(hi[0]), 801, dtype=torch.float64)
    g1 = torch.linspace(float(lo[1]), float(hi[1]), 801, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(g0, g1, indexing="ij"), -1).reshape(-1, 2)
    density = model.log_prob(grid).exp().reshape(801, 801)
    mass = torch.trapezoid(torch.trapezoid(density, g1, dim=1), g0)
    assert float(mass) == pytest.approx(1.0, abs=0.01)


def test_fixed_df_and_large_df_tends_to_ppca():
    x, _ = _low_rank(9)
    t = StudentTPPCA(2, df=1e6).fit(x)
    assert float(t.df_) == 1e6
    assert t.score(x) == pytest.approx(PPCA(2).fit(x).score(x), abs=1e-4)


def test_errors_are_clear():
    with pytest.raises(NotFittedError, match="fit"):
        PPCA(2).log_prob(torch.zeros(3, 4))
    with pytest.raises(NotFittedError, match="components_"):
        _ = FactorAnalysis(2).components_
    with pytest.raises(ValueError, match="n_components=5 must be <= n_features=3"):
        PPCA(5).fit(torch.randn(10, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        PPCA(2, method="svd")
    with pytest.raises(ValueError, match="df must be a positive number"):
        StudentTPPCA(2, df=0)
    with pytest.raises(ValueError, match="n_components must be an int >= 1"):
        PCA(0)
    model = PPCA(1).fit(torch.randn(20, 3))
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        model.log_prob(torch.randn(4, 2))
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 1\)"):
        model.inverse_transform(torch.randn(4, 2))
    bad = torch.randn(10, 3)
    bad[0, 0] = math.inf
    with pytest.raises(ValueError, match="finite"):
        PPCA(1).fit(bad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PPCA(2, method="em", max_iter=3).fit(_low_rank()[0])
    assert any("did not converge" in str(w.message) for w in caught)


def test_linear_models_follow_the_data_device(device):
    x, _ = _low_rank()
    for cls in (PCA, PPCA, FactorAnalysis, StudentTPPCA):
        model = cls(2).fit(x.to(device))
        assert model.log_prob(x.to(device)).device.type == device.type
        assert model.sample(3).device.type == device.type
