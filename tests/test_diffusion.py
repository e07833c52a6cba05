"""Diffusion models and flow matching: schedules, the forward process against Bayes' rule, the
bound's terms against their closed forms on Gaussian data, the samplers, guidance, errors."""

from __future__ import annotations

import math

import pytest
import torch

from gmlib.diffusion import (
    FlowMatching,
    GaussianDataDenoiser,
    GaussianDataVelocity,
    GaussianDiffusion,
    NoiseSchedule,
    discretized_gaussian_log_likelihood,
    gaussian_posterior_variance,
    make_schedule,
    normal_kl,
)
from gmlib.ebm import grid_points
from gmlib.metrics import mmd
from gmlib.nn import ConditionedMLP, UNet

DATA_MEAN, DATA_VAR = 0.7, 0.25


def gaussian_diffusion(timesteps: int = 50, schedule: str = "linear") -> GaussianDiffusion:
    """A 1-D diffusion for data N(0.7, 0.25) with its exact denoiser, in float64."""
    sched = make_schedule(schedule, timesteps)
    return GaussianDiffusion(GaussianDataDenoiser(DATA_MEAN, DATA_VAR, sched), (1,),
                             schedule=sched).double()


# ---- schedules ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["linear", "cosine", "log-snr"])
def test_alphas_cumprod_decrease_in_the_unit_interval(name):
    s = make_schedule(name, 1000)
    a = s.alphas_cumprod
    assert a.dtype == torch.float64 and s.betas.dtype == torch.float64
    assert bool((a > 0).all()) and bool((a <= 1).all())
    assert bool((a[1:] < a[:-1]).all())
    assert float(a[-1]) < 1e-3  # x_T is almost pure noise
    torch.testing.assert_close(s.log_snr, torch.log(a / (1 - a)))
    torch.testing.assert_close(s.alphas_cumprod_prev[1:], a[:-1])


def test_linear_schedule_matches_ddpm_and_log_snr_is_linear():
    s = make_schedule("linear", 1000)
    assert float(s.betas[0]) == pytest.approx(1e-4) and float(s.betas[-1]) == pytest.approx(0.02)
    lam = make_schedule("log-snr", 100).log_snr
    assert torch.diff(lam).std() < 1e-9 and float(lam[-1]) == pytest.approx(-8.0)


def test_schedule_rejects_bad_input():
    with pytest.raises(ValueError, match="betas must lie in"):
        NoiseSchedule(torch.tensor([0.1, 1.2]))
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("quadratic")
    with pytest.raises(ValueError, match="timesteps must be an int"):
        make_schedule("linear", 0)


# ---- the forward process ------------------------------------------------------------------------
def test_q_sample_has_the_right_moments():
    model = gaussian_diffusion(100)
    x0 = torch.full((200_000, 1), 1.5, dtype=torch.float64)
    t = torch.full((200_000,), 30)
    x_t = model.q_sample(x0, t)
    a = float(model.schedule.alphas_cumprod[29])
    assert float(x_t.mean()) == pytest.approx(math.sqrt(a) * 1.5, abs=5e-3)
    assert float(x_t.var()) == pytest.approx(1 - a, rel=1e-2)


def test_q_posterior_is_bayes_rule():
    model = gaussian_diffusion(100)
    s = model.schedule
    t = torch.arange(2, 101)
    x0 = torch.linspace(-2, 2, 99, dtype=torch.float64)[:, None]
    x_t = torch.linspace(3, -1, 99, dtype=torch.float64)[:, None]
    mean, var = model.q_posterior(x0, x_t, t)
    # prior q(x_{t-1} | x_0) times likelihood q(x_t | x_{t-1}), completed square by hand
    a_prev, alpha, beta = s.alphas_cumprod[t - 2], s.alphas[t - 1], s.betas[t - 1]
    precision = 1 / (1 - a_prev) + alpha / beta
    want_mean = (a_prev.sqrt() * x0[:, 0] / (1 - a_prev) + alpha.sqrt() * x_t[:, 0] / beta)
    torch.testing.assert_close(mean[:, 0], want_mean / precision, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(var.flatten(), 1 / precision, rtol=1e-12, atol=1e-12)


# ---- the bound on Gaussian data, where the optimal denoiser is known ----------------------------
def test_elbo_terms_match_their_closed_forms_for_the_optimal_denoiser():
    torch.manual_seed(0)
    model = gaussian_diffusion(50)
    s = model.schedule
    x = DATA_MEAN + math.sqrt(DATA_VAR) * torch.randn(40_000, 1, dtype=torch.float64)
    terms = model.elbo_terms(x)
    # denoising KLs: E[coef^2 Var(x0 | x_t)] / (2 beta_tilde), coef = sqrt(a_{t-1}) beta_t / (1-a_t)
    a, a_prev, beta = s.alphas_cumprod, s.alphas_cumprod_prev, s.betas
    coef = a_prev.sqrt() * beta / (1 - a)
    want = coef ** 2 * gaussian_posterior_variance(DATA_VAR, a) / (2 * s.posterior_variance)
    torch.testing.assert_close(terms.diffusion.mean(0), want[1:], rtol=3e-2, atol=1e-4)
    # prior: E KL(N(sqrt(a_T) x, 1 - a_T) || N(0, 1)) over x ~ N(m, v)
    a_T = a[-1]
    want_prior = 0.5 * (a_T * (DATA_VAR + DATA_MEAN ** 2) + (1 - a_T) - 1 - torch.log(1 - a_T))
    assert float(terms.prior.mean()) == pytest.approx(float(want_prior), rel=2e-2)
    # decoder: Gaussian N(x0_hat, beta_1) around the optimal x0_hat
    err = gaussian_posterior_variance(DATA_VAR, a[0])
    want_decoder = 0.5 * torch.log(2 * math.pi * beta[0]) + err / (2 * beta[0])
    assert float(terms.decoder.mean()) == pytest.approx(float(want_decoder), rel=2e-2)
    # the terms add up to -ELBO, and the bound is below the true log-likelihood
    torch.testing.assert_close(terms.total(), terms.prior + terms.diffusion.sum(-1)
                               + terms.decoder)
    log_lik = -0.5 * ((x - DATA_MEAN) ** 2 / DATA_VAR + math.log(2 * math.pi * DATA_VAR))
    assert float(-terms.total().mean()) < float(log_lik.mean())


def test_elbo_terms_with_the_beta_variance_match_their_closed_form():
    torch.manual_seed(0)
    sched = make_schedule("linear", 50)
    model = GaussianDiffusion(GaussianDataDenoiser(DATA_MEAN, DATA_VAR, sched), (1,),
                              schedule=sched, variance="beta").double()
    x = DATA_MEAN + math.sqrt(DATA_VAR) * torch.randn(40_000, 1, dtype=torch.float64)
    terms = model.elbo_terms(x)
    a, a_prev, beta = sched.alphas_cumprod, sched.alphas_cumprod_prev, sched.betas
    tilde = sched.posterior_variance
    coef = a_prev.sqrt() * beta / (1 - a)
    want = 0.5 * (torch.log(beta / tilde) + tilde / beta - 1) + (
        coef ** 2 * gaussian_posterior_variance(DATA_VAR, a) / (2 * beta))
    torch.testing.assert_close(terms.diffusion.mean(0), want[1:], rtol=3e-2, atol=1e-4)


def test_score_of_the_optimal_denoiser_is_the_noised_data_score():
    model = gaussian_diffusion(100)
    t = torch.full((7,), 40)
    x_t = torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    a = float(model.schedule.alphas_cumprod[39])
    want = -(x_t - math.sqrt(a) * DATA_MEAN) / (a * DATA_VAR + 1 - a)
    torch.testing.assert_close(model.score(x_t, t), want)


def test_elbo_loss_is_an_unbiased_estimate_of_the_bound():
    torch.manual_seed(1)
    model = GaussianDiffusion(GaussianDataDenoiser(DATA_MEAN, DATA_VAR, make_schedule(
        "linear", 20)), (1,), schedule=make_schedule("linear", 20),
        loss_weighting="elbo").double()
    x = DATA_MEAN + math.sqrt(DATA_VAR) * torch.randn(100_000, 1, dtype=torch.float64)
    estimate = float(model.loss(x).mean())
    exact = float(-model.elbo(x[:20_000]).mean())
    assert estimate == pytest.approx(exact, rel=3e-2)


def test_discretized_gaussian_sums_to_one_over_the_levels():
    levels = torch.linspace(-1, 1, 17, dtype=torch.float64)[:, None]
    for mean, std in [(0.0, 0.3), (0.93, 0.01), (-1.4, 0.5), (0.2, 1e-4)]:
        log_p = discretized_gaussian_log_likelihood(
            levels, torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64),
            17)
        assert float(log_p.exp().sum()) == pytest.approx(1.0, abs=1e-9)
    # an interior bin against the normal CDF
    normal = torch.distributions.Normal(torch.tensor(0.1, dtype=torch.float64), 0.2)
    x = levels[8]
    want = normal.cdf(x + 1 / 16) - normal.cdf(x - 1 / 16)
    got = discretized_gaussian_log_likelihood(x, torch.tensor(0.1, dtype=torch.float64),
                                              torch.tensor(0.2, dtype=torch.float64), 17).exp()
    torch.testing.assert_close(got, want)


def test_normal_kl_matches_torch_distributions():
    p = torch.distributions.Normal(torch.tensor(0.3), torch.tensor(0.7))
    q = torch.distributions.Normal(torch.tensor(-0.2), torch.tensor(1.3))
    want = torch.distributions.kl_divergence(p, q)
    torch.testing.assert_close(normal_kl(p.mean, p.variance, q.mean, q.variance), want)


# ---- samplers -----------------------------------------------------------------------------------
def test_ddpm_and_ddim_with_the_optimal_denoiser_sample_the_data():
    # DDPM's reverse variance beta_tilde is exact only as T grows: T = 1000
    model = gaussian_diffusion(1000)
    x = model.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert float(x.mean()) == pytest.approx(DATA_MEAN, abs=0.02)
    assert float(x.var()) == pytest.approx(DATA_VAR, rel=0.05)
    # DDIM discretises an ODE: its error shrinks as the number of steps grows
    errors = []
    for steps in (20, 50, 200):
        x = model.sample(20_000, steps=steps, generator=torch.Generator().manual_seed(0))
        assert float(x.mean()) == pytest.approx(DATA_MEAN, abs=0.02)
        errors.append(abs(float(x.var()) - DATA_VAR))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02 * DATA_VAR


def test_ddim_with_all_steps_and_eta_one_is_ddpm():
    model = gaussian_diffusion(100)
    ddpm = model.sample(2000, generator=torch.Generator().manual_seed(3))
    ddim = model.sample(2000, steps=100, eta=1.0, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ddim, ddpm, rtol=1e-8, atol=1e-8)
    # and in distribution, against draws with other noise
    other = model.sample(2000, steps=100, eta=1.0, generator=torch.Generator().manual_seed(4))
    assert mmd(ddpm, other) < 2e-3


def test_ddim_with_eta_zero_is_deterministic_and_visits_the_requested_steps():
    model = gaussian_diffusion(100)
    assert model.timestep_sequence(5) == [100, 75, 50, 26, 1]
    a = model.sample(10, steps=10, generator=torch.Generator().manual_seed(0))
    chain = list(model.sample_chain(10, steps=10, generator=torch.Generator().manual_seed(0)))
    assert [step.t for step in chain][:3] == [100, 89, 78] and chain[-1].t == 0
    torch.testing.assert_close(chain[-1].x_t, a)


# ---- the digit models: levels, shapes, devices, guidance ----------------------------------------
def digit_diffusion(prediction: str = "levels", n_classes: int | None = None,
                    timesteps: int = 20) -> GaussianDiffusion:
    out = 17 if prediction == "levels" else 1
    net = UNet(1, out, channels=(8, 16), emb_dim=16, n_classes=n_classes)
    return GaussianDiffusion(net, (1, 8, 8), timesteps=timesteps, prediction=prediction,
                             n_levels=17, n_classes=n_classes)


@pytest.mark.parametrize("prediction", ["eps", "levels"])
def test_digit_diffusion_shapes_support_and_device(prediction, device):
    torch.manual_seed(0)
    model = digit_diffusion(prediction).to(device)
    x = torch.randint(0, 17, (5, 1, 8, 8), device=device).float()
    loss = model.loss(x)
    assert loss.shape == (5,) and loss.device.type == device.type
    loss.mean().backward()
    bound = model.elbo(x)
    assert bound.shape == (5,) and bool(torch.isfinite(bound).all())
    samples = model.sample(4)
    assert samples.shape == (4, 1, 8, 8) and samples.device.type == device.type
    assert bool(((samples >= 0) & (samples <= 16) & (samples == samples.round())).all())


def test_level_prediction_snaps_to_the_level_at_small_noise():
    # the Gaussian likelihood term alone (an untrained network outputs zeros) recovers x_0
    model = digit_diffusion("levels", timesteps=1000)
    x = torch.randint(0, 17, (6, 1, 8, 8)).float()
    x0 = model.to_model_space(x)
    t = torch.full((6,), 1)
    _, x0_hat = model.predict(model.q_sample(x0, t), t)
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=0)
    # and the decoder of the bound costs almost nothing there
    with torch.no_grad():
        assert float(model.elbo_terms(x).decoder.max()) < 1e-2


def test_classifier_free_guidance_combines_the_two_predictions():
    torch.manual_seed(0)
    model = digit_diffusion("eps", n_classes=10)
    for p in model.denoiser.head[-1].parameters():  # a non-zero output layer
        torch.nn.init.normal_(p, std=0.1)
    x_t, t, c = torch.randn(3, 1, 8, 8), torch.tensor([5, 10, 15]), torch.tensor([1, 2, 3])
    eps_c, _ = model.predict(x_t, t, c)
    eps_free, _ = model.predict(x_t, t)
    eps_w, x0_w = model.predict(x_t, t, c, guidance=2.0)
    torch.testing.assert_close(eps_w, 3 * eps_c - 2 * eps_free)
    a = model.schedule.gather("alphas_cumprod", t, x_t)
    torch.testing.assert_close(x0_w, (x_t - (1 - a).sqrt() * eps_w) / a.sqrt())
    assert model.loss(torch.zeros(3, 1, 8, 8), c).shape == (3,)
    assert model.sample(2, c=7, guidance=1.0).shape == (2, 1, 8, 8)


def test_diffusion_rejects_bad_input():
    model = digit_diffusion()
    with pytest.raises(ValueError, match="prediction must be one of"):
        GaussianDiffusion(model.denoiser, (1, 8, 8), prediction="v")
    with pytest.raises(ValueError, match="needs n_levels"):
        GaussianDiffusion(model.denoiser, (1, 8, 8), prediction="levels")
    with pytest.raises(ValueError, match="t must hold steps 1..20"):
        model.q_sample(torch.zeros(2, 1, 8, 8), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="t must be an integer tensor"):
        model.q_sample(torch.zeros(2, 1, 8, 8), torch.tensor([0.5, 3.0]))
    with pytest.raises(ValueError, match="steps must be at most T = 20"):
        model.sample(2, steps=50)
    with pytest.raises(ValueError, match="unconditional"):
        model.loss(torch.zeros(2, 1, 8, 8), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="levels"):
        model.loss(torch.full((2, 1, 8, 8), 0.5))
    with pytest.raises(NotImplementedError, match="elbo"):
        model.log_prob(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="p_uncond must be in"):
        GaussianDiffusion(model.denoiser, (1, 8, 8), p_uncond=1.0)


# ---- networks -----------------------------------------------------------------------------------
def test_unet_shapes_zero_start_and_errors():
    net = UNet(1, 17, channels=(8, 16, 32), emb_dim=16, n_classes=10)
    x = torch.randn(4, 1, 8, 8)
    out = net(x, torch.rand(4), torch.tensor([0, 1, 2, 10]))
    assert out.shape == (4, 17, 8, 8) and float(out.detach().abs().max()) == 0.0
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, H, W\)"):
        net(torch.randn(4, 1, 6, 6), torch.rand(4))
    with pytest.raises(ValueError, match=r"t must have shape \(4,\)"):
        net(x, torch.rand(3))
    with pytest.raises(ValueError, match="c must hold class labels"):
        net(x, torch.rand(4), torch.tensor([0, 1, 2, 11]))
    with pytest.raises(ValueError, match="takes no labels"):
        UNet(1, 1, channels=(8,))(x, torch.rand(4), torch.tensor([0, 1, 2, 3]))


# ---- flow matching ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
def test_flow_matching_ode_carries_noise_to_gaussian_data(method):
    model = FlowMatching(GaussianDataVelocity(DATA_MEAN, DATA_VAR), (1,)).double()
    x = model.sample(20_000, steps=200 if method == "euler" else 20, method=method,
                     generator=torch.Generator().manual_seed(0))
    assert float(x.mean()) == pytest.approx(DATA_MEAN, abs=0.02)
    assert float(x.var()) == pytest.approx(DATA_VAR, rel=0.04)


def test_flow_matching_loss_is_minimised_by_the_marginal_velocity():
    torch.manual_seed(0)
    x = DATA_MEAN + math.sqrt(DATA_VAR) * torch.randn(200_000, 1, dtype=torch.float64)
    best = FlowMatching(GaussianDataVelocity(DATA_MEAN, DATA_VAR), (1,)).double()
    worse = FlowMatching(GaussianDataVelocity(DATA_MEAN + 0.3, DATA_VAR), (1,)).double()
    assert float(best.loss(x).mean()) < float(worse.loss(x).mean()) - 0.05


def test_flow_matching_shapes_guidance_and_errors(device):
    torch.manual_seed(0)
    net = UNet(1, 1, channels=(8, 16), emb_dim=16, n_classes=10)
    model = FlowMatching(net, (1, 8, 8), n_levels=17, n_classes=10).to(device)
    x = torch.randint(0, 17, (4, 1, 8, 8), device=device).float()
    assert model.loss(x, torch.tensor([0, 1, 2, 3], device=device)).shape == (4,)
    samples = model.sample(3, c=2, steps=4, guidance=2.0)
    assert samples.shape == (3, 1, 8, 8) and samples.device.type == device.type
    path = model.integrate(torch.zeros(2, 1, 8, 8, device=device), steps=3, keep_path=True)
    assert len(path) == 4
    with pytest.raises(ValueError, match="method must be one of"):
        model.sample(2, method="heun")
    with pytest.raises(NotImplementedError, match="dequantisation"):
        model.log_prob(x)


def test_flow_matching_log_prob_is_the_change_of_variables():
    model = FlowMatching(GaussianDataVelocity(DATA_MEAN, DATA_VAR), (1,)).double()
    x = torch.linspace(-1, 2.5, 9, dtype=torch.float64)[:, None]
    want = -0.5 * ((x[:, 0] - DATA_MEAN) ** 2 / DATA_VAR + math.log(2 * math.pi * DATA_VAR))
    torch.testing.assert_close(model.log_prob(x, steps=50), want, rtol=0, atol=1e-5)
    # a 2-D field integrates to one over the plane
    net = ConditionedMLP(2, hidden=16, n_layers=2, emb_dim=8).double()
    flow = FlowMatching(net, (2,)).double()
    grid, cell_area = grid_points((-6, 6, -6, 6), 80)
    mass = flow.log_prob(grid, steps=10).exp().sum() * cell_area
    assert float(mass) == pytest.approx(1.0, abs=0.02)
