"""gmlib.vae: the bounds against exact likelihoods, gradients, shapes and errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn
from torch.distributions import (
    Independent,
    MultivariateNormal,
    Normal,
    OneHotCategorical,
    kl_divergence,
)

from gmlib.linear import PPCA
from gmlib.testing import assert_bounds_below
from gmlib.train import fit
from gmlib.utils import enumerate_binary
from gmlib.vae import (
    VAE,
    Autoencoder,
    BernoulliDecoder,
    CategoricalDecoder,
    CategoricalEncoder,
    ConditionalVAE,
    GaussianDecoder,
    GaussianEncoder,
    MixtureOfGaussiansPrior,
    StandardNormalPrior,
    VampPrior,
    build_vae,
    discretized_logistic_log_probs,
    expected_value,
)

# ---------------------------------------------------------------- a linear-Gaussian VAE


def _ppca_data(n: int = 400, d: int = 5, q: int = 2) -> Tensor:
    g = torch.Generator().manual_seed(1)
    w = torch.randn(d, q, generator=g, dtype=torch.float64) * 2
    return torch.randn(n, q, generator=g, dtype=torch.float64) @ w.T + 0.5 * torch.randn(
        n, d, generator=g, dtype=torch.float64) + torch.arange(d, dtype=torch.float64)


def _linear_vae(ppca: PPCA) -> VAE:
    """A VAE whose decoder is PPCA's p(x|z) and whose encoder is its exact posterior."""
    d, q = ppca.mean_.shape[0], ppca.n_components
    decoder_net, encoder_net = nn.Linear(q, d), nn.Linear(d, 2 * q)
    vae = VAE(GaussianEncoder(encoder_net, q), GaussianDecoder(decoder_net, (d,))).double()
    # the posterior mean is affine in x: E[z | x] = x A + b with b = E[z | 0]
    post_mean_0, covariance = ppca.posterior(torch.zeros(1, d, dtype=torch.float64))
    post_map = ppca.posterior(torch.eye(d, dtype=torch.float64))[0] - post_mean_0  # A, (D, q)
    # PPCA's closed-form W has orthogonal columns, so the exact posterior is diagonal
    assert torch.allclose(covariance, torch.diag(torch.diag(covariance)), atol=1e-12)
    with torch.no_grad():
        decoder_net.weight.copy_(ppca.components_.T)
        decoder_net.bias.copy_(ppca.mean_)
        vae.decoder.log_scale.copy_(0.5 * ppca.noise_variance_.log())
        encoder_net.weight.zero_()
        encoder_net.weight[:q] = post_map.T
        encoder_net.bias[:q] = post_mean_0[0]
        encoder_net.bias[q:] = 0.5 * torch.diag(covariance).log()
    return vae


@pytest.fixture
def linear_case() -> tuple[VAE, Tensor, Tensor]:
    x = _ppca_data()
    ppca = PPCA(2).fit(x)
    return _linear_vae(ppca), x[:50], ppca.log_prob(x[:50])


def test_linear_vae_at_the_exact_posterior_is_tight(linear_case):
    """With q = p(z|x), log p(x,z) - log q(z|x) = log p(x) for every z: every importance-
    weighted bound equals the PPCA marginal for every single draw, and the ELBO (whose KL
    is analytic, so single draws vary) does so in expectation."""
    vae, x, log_px = linear_case
    for k in (1, 7):
        torch.testing.assert_close(vae.iwae_bound(x, k), log_px, atol=1e-9, rtol=0)
    torch.manual_seed(0)
    with torch.no_grad():
        draws = torch.stack([vae.elbo(x) for _ in range(4000)])
    error = 5 * draws.std(0) / math.sqrt(len(draws))
    assert torch.all((draws.mean(0) - log_px).abs() < error)


@pytest.mark.slow
def test_linear_vae_gap_is_the_kl_to_the_true_posterior(linear_case):
    """Away from the optimum: E[ELBO] = log p(x) - KL(q || p(z|x)) < log p(x)."""
    vae, x, log_px = linear_case
    exact_posterior = vae.encoder(x)
    with torch.no_grad():
        vae.encoder.net.bias[:2] += torch.tensor([0.7, -0.4], dtype=torch.float64)
        vae.encoder.net.bias[2:] += 0.5
    gap = kl_divergence(vae.encoder(x), exact_posterior).detach()
    torch.manual_seed(0)
    with torch.no_grad():
        draws = torch.stack([vae.elbo(x) for _ in range(4000)])  # (R, B)
    error = 5 * draws.std(0) / math.sqrt(len(draws))
    assert torch.all((draws.mean(0) - (log_px - gap)).abs() < error)
    assert torch.all(gap > 0.1)
    means = assert_bounds_below(vae, x, log_px, ks=(1, 4, 32, 256), n_repeats=100, atol=2e-3)
    assert means[-1] > means[0] + 0.1  # the importance-weighted bound really tightens


def test_linear_vae_trained_by_gradient_reaches_the_ppca_likelihood():
    """Trained on its ELBO, a linear VAE recovers probabilistic PCA (Lucas et al. 2019): its
    decoder's exact marginal N(b, W W^T + sigma^2 I) reaches PPCA's maximum likelihood, and
    its ELBO comes close to it."""
    x = _ppca_data(n=300).float()
    ppca = PPCA(2, dtype=torch.float32).fit(x)
    torch.manual_seed(0)
    vae = VAE(GaussianEncoder(nn.Linear(5, 4), 2), GaussianDecoder(nn.Linear(2, 5), (5,)))
    fit(vae, x, epochs=1500, batch_size=300, lr=1e-2, seed=0, progress=False)
    w, b = vae.decoder.net.weight.detach(), vae.decoder.net.bias.detach()
    covariance = w @ w.T + (2 * vae.decoder.log_scale.detach()).exp() * torch.eye(5)
    marginal = MultivariateNormal(b, covariance).log_prob(x).mean()
    with torch.no_grad():
        elbo = torch.stack([vae.elbo(x) for _ in range(200)]).mean()
    best = ppca.log_prob(x).mean()
    assert elbo < marginal <= best + 1e-4
    assert marginal > best - 0.01
    assert elbo > best - 0.05


# ---------------------------------------------------------------- a discrete latent


class TableNet(nn.Module):
    """Binary x (B, D) -> a learned row of logits per configuration (an exact lookup)."""

    def __init__(self, n_dims: int, n_out: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(2 ** n_dims, n_out, dtype=torch.float64))
        self.register_buffer("powers", 2 ** torch.arange(n_dims))

    def forward(self, x: Tensor) -> Tensor:
        return self.table[(x.long() * self.powers).sum(-1)]


class CategoricalPrior(nn.Module):
    def __init__(self, logits: Tensor) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self) -> OneHotCategorical:
        return OneHotCategorical(logits=self.logits)


@pytest.fixture
def discrete_case() -> tuple[VAE, Tensor, Tensor]:
    """A Bernoulli mixture written as a VAE: z one-hot over 4 states, x 6 binary pixels."""
    torch.manual_seed(0)
    d, s = 6, 4
    decoder = BernoulliDecoder(nn.Linear(s, d).double(), (d,))
    prior = CategoricalPrior(torch.randn(s, dtype=torch.float64))
    vae = VAE(CategoricalEncoder(TableNet(d, s), s), decoder, prior)
    x = enumerate_binary(d, dtype=torch.float64)
    codes = torch.eye(s, dtype=torch.float64)
    with torch.no_grad():
        log_joint = prior().log_prob(codes)[:, None] + decoder(codes[:, None]).log_prob(x)
    return vae, x, torch.logsumexp(log_joint, 0)


def test_discrete_latent_elbo_is_below_the_enumerated_likelihood(discrete_case):
    vae, x, log_px = discrete_case
    assert float(log_px.exp().sum()) == pytest.approx(1.0, abs=1e-12)
    elbo = vae.elbo(x)  # exact: the expectation over 4 states is summed
    torch.testing.assert_close(vae.elbo(x), elbo)  # no randomness at all
    assert torch.all(elbo < log_px)
    assert_bounds_below(vae, x, log_px, ks=(1, 8, 64), n_repeats=32, atol=1e-2)


def test_discrete_latent_elbo_is_tight_at_the_exact_posterior(discrete_case):
    vae, x, log_px = discrete_case
    codes = torch.eye(4, dtype=torch.float64)
    with torch.no_grad():
        log_joint = vae.prior().log_prob(codes)[:, None] + vae.decoder(codes[:, None]).log_prob(x)
        rows = (x.long() * vae.encoder.net.powers).sum(-1)
        vae.encoder.net.table[rows] = (log_joint - log_px).T  # log p(z | x), all 64 x
    torch.testing.assert_close(vae.elbo(x), log_px, atol=1e-10, rtol=0)


def test_discrete_latent_elbo_trains_without_reparameterisation(discrete_case):
    """The enumerated ELBO is differentiable in the encoder's logits directly."""
    vae, x, _ = discrete_case
    vae.elbo(x).sum().backward()
    grad = vae.encoder.net.table.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


# ---------------------------------------------------------------- KL and gradients


def test_analytic_kl_equals_monte_carlo():
    torch.manual_seed(0)
    q = Independent(Normal(torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.3, 1.5, 0.8])), 1)
    prior = StandardNormalPrior(3)()
    z = q.sample((200_000,))
    mc = q.log_prob(z) - prior.log_prob(z)
    assert float(kl_divergence(q, prior)) == pytest.approx(float(mc.mean()),
                                                           abs=4 * float(mc.std()) / 447)


def test_mixture_prior_kl_is_estimated_by_monte_carlo():
    """No closed form for KL(q || mixture): the ELBO uses log q(z) - log p(z) at its sample,
    whose mean matches a direct estimate."""
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=3, latent_dim=2, hidden=(8,), prior="mog",
                    n_components=3)
    x = torch.randint(0, 3, (2, 1, 4, 4)).float()
    with torch.no_grad():
        kls = vae.elbo_terms(x.repeat(20_000, 1, 1, 1))[1].view(20_000, 2)  # one draw each
        q, prior = vae.encode(x), vae.prior()
        z = q.sample((20_000,))
        direct = (q.log_prob(z) - prior.log_prob(z)).mean(0)
    torch.testing.assert_close(kls.mean(0), direct, atol=0.05, rtol=0)


def test_reparameterised_gradient_is_unbiased(linear_case):
    """The mean of reparameterised gradients equals the gradient of the closed-form ELBO of
    the linear-Gaussian model, E_q||x - Wz - mu||^2 = ||x - Wm - mu||^2 + tr(W S W^T)."""
    vae, x, _ = linear_case
    x = x[:1].expand(20_000, -1)
    decoder = vae.decoder
    with torch.no_grad():
        vae.encoder.net.bias[:2] += 0.3  # away from the optimum, where the gradient is zero
    torch.manual_seed(0)
    vae.zero_grad()
    vae.elbo(x).mean().backward()
    mc_grad = vae.encoder.net.bias.grad.clone()

    def closed_form_elbo(bias: Tensor) -> Tensor:
        out = x[:1] @ vae.encoder.net.weight.T + bias
        m, log_s = out[:, :2], out[:, 2:]
        w, mu, var = decoder.net.weight, decoder.net.bias, (2 * decoder.log_scale).exp()
        sq = (x[:1] - m @ w.T - mu).square().sum(-1) + (w.square() @ (2 * log_s).exp().T).sum()
        recon = -0.5 * sq / var - 0.5 * 5 * torch.log(2 * math.pi * var)
        kl = 0.5 * (m.square() + (2 * log_s).exp() - 1 - 2 * log_s).sum(-1)
        return (recon - kl).sum()

    exact = torch.autograd.functional.jacobian(closed_form_elbo,
                                               vae.encoder.net.bias.detach().clone())
    torch.testing.assert_close(mc_grad, exact, atol=0.05, rtol=0.02)


def test_gradients_flow_through_the_sample():
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=3, hidden=(16,))
    x = torch.randint(0, 5, (8, 1, 4, 4)).float()
    vae.loss(x).mean().backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert vae.encoder.net[0].weight.grad.abs().sum() > 0


# ---------------------------------------------------------------- decoders and priors


def test_discretized_logistic_is_normalised_and_matches_the_cdf():
    loc = torch.tensor([-3.0, 0.0, 4.2, 8.0, 16.0, 30.0], dtype=torch.float64)
    log_scale = torch.tensor([-3.0, 0.0, 1.0, -1.0, 2.0, 0.5], dtype=torch.float64)
    log_p = discretized_logistic_log_probs(loc, log_scale, 17)
    torch.testing.assert_close(log_p.exp().sum(-1), torch.ones(6, dtype=torch.float64))
    edges = torch.arange(-0.5, 17, 1.0, dtype=torch.float64)
    cdf = torch.sigmoid((edges - loc[:, None]) / log_scale.exp()[:, None])
    cdf[:, 0], cdf[:, -1] = 0.0, 1.0
    torch.testing.assert_close(log_p.exp(), cdf.diff(dim=-1), atol=1e-12, rtol=1e-9)


def test_discretized_logistic_is_finite_with_finite_gradients_at_extremes():
    loc = torch.tensor([-1e3, 8.0, 1e3], requires_grad=True)
    log_scale = torch.tensor([-6.0, -6.0, 6.0], requires_grad=True)
    log_p = discretized_logistic_log_probs(loc, log_scale, 17)
    assert torch.isfinite(log_p).all()
    log_p[:, 8].sum().backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(log_scale.grad).all()


@pytest.mark.parametrize("likelihood", ["bernoulli", "categorical", "logistic", "gaussian"])
@pytest.mark.parametrize("decoder", ["mlp", "conv"])
def test_build_vae_shapes_and_support(likelihood, decoder, device):
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), likelihood=likelihood, n_levels=5, latent_dim=3, hidden=(16,),
                    decoder=decoder, channels=4).to(device)
    top = 1 if likelihood == "bernoulli" else 4
    x = torch.randint(0, top + 1, (6, 1, 4, 4), device=device).float()
    for value in (vae.elbo(x), vae.iwae_bound(x, 5), vae.loss(x)):
        assert value.shape == (6,) and value.device.type == device.type
        assert torch.isfinite(value).all()
    samples = vae.sample(7)
    assert samples.shape == (7, 1, 4, 4) and samples.device.type == device.type
    if likelihood != "gaussian":
        vae.validate_input(samples)  # draws lie in the decoder's support
    assert vae.reconstruct(x).shape == x.shape
    assert vae.sample(3, mean=True).shape == (3, 1, 4, 4)


@pytest.mark.parametrize("prior", ["normal", "mog", "vamp"])
def test_priors_sample_and_score(prior, device):
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=3, hidden=(16,), prior=prior,
                    n_components=4).to(device)
    p = vae.prior()
    z = p.sample((10,))
    assert z.shape == (10, 3) and p.log_prob(z).shape == (10,)
    assert isinstance(vae.prior, {"normal": StandardNormalPrior, "mog": MixtureOfGaussiansPrior,
                                  "vamp": VampPrior}[prior])


def test_vamp_prior_is_the_mean_of_the_encoder_posteriors():
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,), prior="vamp",
                    n_components=3)
    z = torch.randn(5, 2)
    posteriors = vae.encoder(vae.prior.pseudo_inputs)
    expected = torch.logsumexp(posteriors.log_prob(z[:, None]), -1) - math.log(3)
    torch.testing.assert_close(vae.prior().log_prob(z), expected)


def test_expected_value_is_the_mean_level():
    probs = torch.tensor([[0.2, 0.3, 0.5]])
    dist = torch.distributions.Categorical(probs=probs)
    assert float(expected_value(dist)) == pytest.approx(0.3 + 1.0)


# ---------------------------------------------------------------- loss variants


def test_kl_warmup_ramps_the_weight_in_training_only():
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,), beta=2.0, warmup_steps=4)
    x = torch.randint(0, 5, (3, 1, 4, 4)).float()
    weights = []
    for _ in range(6):
        weights.append(vae.kl_weight())
        vae.loss(x)
    assert weights == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    vae.eval()
    steps = int(vae.steps)
    vae.loss(x)
    assert vae.kl_weight() == 2.0 and int(vae.steps) == steps


def test_beta_weights_the_kl_term():
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,), beta=3.0).eval()
    x = torch.randint(0, 5, (3, 1, 4, 4)).float()
    torch.manual_seed(1)
    recon, kl = vae.elbo_terms(x)
    torch.manual_seed(1)
    torch.testing.assert_close(vae.loss(x), -(recon - 3.0 * kl))


def test_train_k_uses_the_importance_weighted_bound():
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,), train_k=5).eval()
    x = torch.randint(0, 5, (3, 1, 4, 4)).float()
    torch.manual_seed(1)
    bound = vae.iwae_bound(x, 5)
    torch.manual_seed(1)
    torch.testing.assert_close(vae.loss(x), -bound)


def test_iwae_bound_is_chunked_without_changing_its_value(monkeypatch, linear_case):
    """Samples are drawn in chunks to bound memory; at the exact posterior every draw gives
    log p(x), so the chunked bound must too."""
    import gmlib.vae.model as model_module

    vae, x, log_px = linear_case
    monkeypatch.setattr(model_module, "_IWAE_CHUNK", 2 * len(x))  # chunks of 2 samples
    torch.testing.assert_close(vae.iwae_bound(x, 11), log_px, atol=1e-9, rtol=0)
    with torch.no_grad():
        vae.encoder.net.bias += 0.2
    torch.manual_seed(0)
    chunked = torch.stack([vae.iwae_bound(x, 11) for _ in range(300)])
    monkeypatch.setattr(model_module, "_IWAE_CHUNK", 2 ** 14)
    whole = torch.stack([vae.iwae_bound(x, 11) for _ in range(300)])
    error = 5 * (chunked.var(0) + whole.var(0)).sqrt() / math.sqrt(300)
    assert torch.all((chunked.mean(0) - whole.mean(0)).abs() < error)


def test_active_units_detects_a_collapsed_dimension():
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=3, hidden=(8,))
    last = vae.encoder.net[-1]
    with torch.no_grad():
        last.weight[1].zero_()  # the mean of z_2 no longer depends on x
        last.bias[1] = 0.0
    x = torch.randint(0, 5, (64, 1, 4, 4)).float()
    active = vae.active_units(x, threshold=1e-6)
    assert active.tolist() == [True, False, True]


# ---------------------------------------------------------------- conditional VAE


def test_conditional_vae(device):
    torch.manual_seed(0)
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,), n_classes=3).to(device)
    assert isinstance(vae, ConditionalVAE)
    x = torch.randint(0, 5, (4, 1, 4, 4), device=device).float()
    c = torch.tensor([0, 1, 2, 1], device=device)
    assert vae.elbo(x, c=c).shape == (4,) and vae.iwae_bound(x, 3, c=c).shape == (4,)
    assert vae.sample(5, c=2).shape == (5, 1, 4, 4)
    assert vae.sample(4, c=c).shape == (4, 1, 4, 4)
    history = fit(vae, (x, c), epochs=2, batch_size=2, seed=0, progress=False, device=device)
    assert len(history.train_loss) == 2
    with pytest.raises(TypeError, match="needs the labels: pass c="):
        vae.elbo(x)
    with pytest.raises(ValueError, match=r"c must hold class labels 0..2; got 3"):
        vae.elbo(x, c=torch.tensor([0, 1, 3, 1], device=device))
    with pytest.raises(ValueError, match=r"c must have shape \(4,\)"):
        vae.elbo(x, c=torch.tensor([0, 1], device=device))


# ---------------------------------------------------------------- bad input


def test_clear_errors():
    vae = build_vae((1, 4, 4), n_levels=5, latent_dim=2, hidden=(8,))
    x = torch.randint(0, 5, (3, 1, 4, 4)).float()
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 1, 4, 4\)"):
        vae.elbo(torch.zeros(3, 16))
    with pytest.raises(ValueError, match=r"integer levels \{0, ..., 4\}"):
        vae.elbo(x + 0.5)
    with pytest.raises(ValueError, match=r"integer levels"):
        vae.loss(x * 2)
    with pytest.raises(ValueError, match="k must be a positive int"):
        vae.iwae_bound(x, 0)
    with pytest.raises(TypeError, match="VAE is unconditional, so it cannot use the condition c"):
        vae.elbo(x, c=torch.zeros(3))
    with pytest.raises(NotImplementedError, match="no tractable log_prob"):
        vae.log_prob(x)
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \(..., B, 2\)"):
        vae.decode(torch.zeros(3, 5))
    binary = build_vae((1, 4, 4), likelihood="bernoulli", latent_dim=2, hidden=(8,))
    with pytest.raises(ValueError, match="binary values"):
        binary.elbo(x)


def test_construction_errors():
    with pytest.raises(ValueError, match="likelihood must be one of"):
        build_vae(likelihood="poisson")
    with pytest.raises(ValueError, match="prior must be one of"):
        build_vae(prior="laplace")
    with pytest.raises(ValueError, match="decoder must be 'mlp' or 'conv'"):
        build_vae(decoder="rnn")
    with pytest.raises(ValueError, match="conv' needs one-channel images"):
        build_vae((64,), decoder="conv")
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        build_vae(beta=-1.0)
    with pytest.raises(ValueError, match="train_k > 1 trains on the importance-weighted"):
        build_vae(beta=2.0, train_k=4)
    with pytest.raises(ValueError, match="VampPrior encodes pseudo-inputs without labels"):
        build_vae(prior="vamp", n_classes=10)
    with pytest.raises(ValueError, match="parameterization must be 'free' or 'logistic'"):
        CategoricalDecoder(nn.Linear(2, 32), (16,), 2, parameterization="ordinal")
    with pytest.raises(ValueError, match="scale must be a positive float"):
        GaussianDecoder(nn.Linear(2, 16), (16,), scale=-1.0)
    with pytest.raises(ValueError, match="pseudo_inputs must have shape"):
        VampPrior(GaussianEncoder(nn.Linear(4, 4), 2), torch.zeros(4))


def test_nets_with_the_wrong_output_size_are_named():
    bad_encoder = VAE(GaussianEncoder(nn.Linear(16, 3), 2),
                      BernoulliDecoder(nn.Linear(2, 16), (16,)))
    with pytest.raises(ValueError, match=r"GaussianEncoder's net must return \(B, 4\)"):
        bad_encoder.elbo(torch.zeros(2, 16))
    bad_decoder = VAE(GaussianEncoder(nn.Linear(16, 4), 2),
                      BernoulliDecoder(nn.Linear(2, 15), (16,)))
    with pytest.raises(ValueError, match=r"BernoulliDecoder's net must return \(B, 16\)"):
        bad_decoder.elbo(torch.zeros(2, 16))


# ---------------------------------------------------------------- autoencoder


def test_autoencoder_shapes_loss_and_training():
    torch.manual_seed(0)
    ae = Autoencoder(nn.Linear(16, 4), nn.Linear(4, 16), (1, 4, 4), input_scale=0.25)
    x = torch.randint(0, 5, (32, 1, 4, 4)).float()
    assert ae.encode(x).shape == (32, 4) and ae.reconstruct(x).shape == x.shape
    before = float(ae.loss(x).mean().detach())
    fit(ae, x, epochs=200, batch_size=32, lr=1e-2, seed=0, progress=False)
    assert float(ae.loss(x).mean().detach()) < 0.7 * before
    identity = Autoencoder(nn.Identity(), nn.Identity(), (1, 4, 4), input_scale=0.25)
    identity.register_parameter("dummy", nn.Parameter(torch.zeros(1)))
    assert torch.all(identity.loss(x) == 0)
    torch.testing.assert_close(identity.reconstruct(x), x)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 1, 4, 4\)"):
        ae.loss(torch.zeros(2, 16))
    with pytest.raises(ValueError, match="finite values"):
        ae.encode(torch.full((1, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="noise_std must be a finite number >= 0"):
        Autoencoder(nn.Identity(), nn.Identity(), (16,), noise_std=-0.1)


def test_denoising_autoencoder_corrupts_inputs_in_training_only():
    identity = Autoencoder(nn.Identity(), nn.Identity(), (1, 4, 4), noise_std=0.5)
    identity.register_parameter("dummy", nn.Parameter(torch.zeros(1)))
    x = torch.randint(0, 5, (64, 1, 4, 4)).float()
    torch.manual_seed(0)
    noisy = identity.loss(x)  # the identity map now pays for the noise: 16 * 0.25 per image
    assert float(noisy.mean()) == pytest.approx(16 * 0.25, rel=0.1)
    assert torch.all(identity.eval().loss(x) == 0)
