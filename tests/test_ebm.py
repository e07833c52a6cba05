"""Energy-based models and score matching: the grid partition function, Langevin and annealed
Langevin against exact samples, the score-matching losses against their definitions on a
Gaussian, the contrastive-divergence model and the noise-conditional score model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from gmlib.ebm import (
    EnergyModel,
    NoiseConditionalScoreModel,
    ReplayBuffer,
    annealed_langevin,
    denoising_score_matching_loss,
    energy_score,
    exact_score_matching_loss,
    geometric_sigmas,
    langevin,
    log_partition_on_grid,
    sliced_score_matching_loss,
)
from gmlib.metrics import mmd
from gmlib.nn import ConditionedMLP


def mixture(std: float = 0.3) -> torch.distributions.Distribution:
    """A known 2-D density: three Gaussians with unequal weights."""
    means = torch.tensor([[-1.5, 0.0], [1.5, 0.5], [0.0, 1.8]], dtype=torch.float64)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    return torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(weights),
        torch.distributions.Independent(torch.distributions.Normal(
            means, torch.full_like(means, std)), 1))


def mixture_score(std: float):
    dist = mixture(std)
    return energy_score(lambda x: -dist.log_prob(x))


def test_grid_partition_function_of_a_gaussian():
    log_z = log_partition_on_grid(lambda x: -0.5 * (x ** 2).sum(-1), (-8, 8, -8, 8), 400)
    assert log_z == pytest.approx(math.log(2 * math.pi), abs=1e-6)
    with pytest.raises(ValueError, match="bounds must be"):
        log_partition_on_grid(lambda x: x.sum(-1), (1, 0, 0, 1))


def test_energy_score_is_minus_the_energy_gradient():
    x = torch.randn(5, 2, dtype=torch.float64)
    score = energy_score(lambda z: 0.5 * (z ** 2).sum(-1) + z[:, 0])
    with torch.no_grad():
        got = score(x)
    torch.testing.assert_close(got, -x - torch.tensor([1.0, 0.0], dtype=torch.float64))


@pytest.mark.slow
def test_langevin_converges_to_a_known_mixture():
    # components wide enough to overlap, so single chains cross between them
    torch.manual_seed(0)
    exact = mixture(0.5).sample((2000,))
    start = 4 * torch.rand(2000, 2, dtype=torch.float64) - 2
    chains = langevin(mixture_score(0.5), start, n_steps=2000, step_size=0.01,
                      generator=torch.Generator().manual_seed(1))
    assert mmd(chains, exact) < 1e-3 < 0.02 < mmd(start, exact)
    assert mmd(mixture(0.5).sample((2000,)), exact) < 1e-3  # "the same distribution"


def test_annealed_langevin_finds_the_mode_weights():
    # scores of the mixture blurred by each noise level are exact: the std grows to
    # sqrt(0.3^2 + sigma^2)
    torch.manual_seed(0)
    sigmas = geometric_sigmas(2.0, 0.05, 8)
    scores = [mixture_score(math.sqrt(0.3 ** 2 + s ** 2)) for s in sigmas.tolist()]
    x = 2.0 * torch.randn(2000, 2, dtype=torch.float64)
    out = annealed_langevin(lambda z, i: scores[i](z), x, sigmas, n_steps_each=60,
                            step_lr=5e-4, final_denoise=False)
    assert mmd(out, mixture().sample((2000,))) < 5e-3
    with pytest.raises(ValueError, match="decreasing"):
        annealed_langevin(lambda z, i: z, x, [0.1, 1.0])


# ---- score matching on a Gaussian ---------------------------------------------------------------
A = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=torch.float64)
B = torch.tensor([0.5, -0.2], dtype=torch.float64)
M = torch.tensor([1.0, 0.0], dtype=torch.float64)
C = torch.tensor([[0.5, 0.1], [0.1, 0.8]], dtype=torch.float64)


def linear_score(a: Tensor = A, b: Tensor = B):
    return lambda x: -(x - b) @ a.T


def gaussian_data(n: int, cov: Tensor = C) -> Tensor:
    return torch.distributions.MultivariateNormal(M, cov).sample((n,))


def expected_explicit_loss(a: Tensor, b: Tensor, cov: Tensor) -> float:
    """E[0.5 |A(x - b)|^2] - tr A for x ~ N(M, cov)."""
    second = cov + torch.outer(M - b, M - b)
    return float(0.5 * torch.trace(a.T @ a @ second) - torch.trace(a))


def test_exact_score_matching_is_hyvarinens_objective():
    torch.manual_seed(0)
    x = gaussian_data(100_000)
    loss = exact_score_matching_loss(linear_score(), x)
    # per example the trace is exactly -tr A
    torch.testing.assert_close(loss - 0.5 * (linear_score()(x) ** 2).sum(-1),
                               torch.full((len(x),), -float(torch.trace(A)), dtype=torch.float64))
    assert float(loss.detach().mean()) == pytest.approx(expected_explicit_loss(A, B, C), rel=1e-2)


@pytest.mark.parametrize("variance_reduction", [True, False])
def test_sliced_score_matching_has_the_same_expectation(variance_reduction):
    torch.manual_seed(0)
    x = gaussian_data(100_000)
    loss = sliced_score_matching_loss(linear_score(), x, n_projections=2,
                                      variance_reduction=variance_reduction)
    assert float(loss.detach().mean()) == pytest.approx(expected_explicit_loss(A, B, C), rel=3e-2)


def test_denoising_score_matching_equals_explicit_matching_on_the_blurred_data():
    # DSM(theta) = ESM(theta; data blurred by sigma) + a constant (Vincent 2011), so the
    # difference between two score models is the same under both
    torch.manual_seed(0)
    sigma = 0.4
    blurred = C + sigma ** 2 * torch.eye(2, dtype=torch.float64)
    other_a, other_b = torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    x = gaussian_data(400_000)
    dsm = [float(denoising_score_matching_loss(linear_score(a, b), x, sigma).mean())
           for a, b in ((A, B), (other_a, other_b))]
    esm = [expected_explicit_loss(a, b, blurred) for a, b in ((A, B), (other_a, other_b))]
    assert dsm[0] - dsm[1] == pytest.approx(esm[0] - esm[1], abs=0.02)
    # and the blurred data's true score minimises DSM
    best = torch.linalg.inv(blurred)
    best_loss = float(denoising_score_matching_loss(linear_score(best, M), x, sigma).mean())
    assert best_loss < min(dsm)


def test_score_matching_rejects_bad_input():
    with pytest.raises(ValueError, match="vectors"):
        exact_score_matching_loss(lambda x: x, torch.zeros(2, 1, 2, 2))
    with pytest.raises(ValueError, match="sigma must be positive"):
        denoising_score_matching_loss(lambda x: x, torch.zeros(2, 2), 0.0)
    with pytest.raises(ValueError, match="n_projections"):
        sliced_score_matching_loss(lambda x: x, torch.zeros(2, 2), n_projections=0)


# ---- the energy model ---------------------------------------------------------------------------
class QuadraticEnergy(nn.Module):
    """E(x) = 0.5 |x - mu|^2 / s^2 with learnable mu and log s."""

    def __init__(self) -> None:
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(2))
        self.log_s = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * ((x - self.mu) ** 2).sum(-1) / self.log_s.exp() ** 2


def uniform_box(n: int) -> Tensor:
    return 6 * torch.rand(n, 2) - 3


def test_contrastive_divergence_learns_a_gaussian():
    torch.manual_seed(0)
    model = EnergyModel(QuadraticEnergy(), (2,), init=uniform_box, n_steps=20, step_size=0.05,
                        buffer_size=1000, alpha=0.0)
    data = torch.tensor([1.0, -0.5]) + 0.5 * torch.randn(4000, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        batch = data[torch.randint(len(data), (200,))]
        opt.zero_grad()
        model.loss(batch).mean().backward()
        opt.step()
    torch.testing.assert_close(model.energy_net.mu.detach(), torch.tensor([1.0, -0.5]), atol=0.15,
                               rtol=0)
    assert float(model.energy_net.log_s.detach().exp()) == pytest.approx(0.5, abs=0.1)
    # normalised on a grid, the learned density integrates to one
    log_z = log_partition_on_grid(model.unnormalized_log_prob, (-6, 6, -6, 6), 300)
    grid_mass = log_partition_on_grid(lambda x: model.log_prob(x.float(), log_z), (-6, 6, -6, 6),
                                      300)
    assert grid_mass == pytest.approx(0.0, abs=1e-4)
    assert model.sample(10, n_steps=5).shape == (10, 2)


def test_energy_model_refuses_log_prob_without_log_z():
    model = EnergyModel(QuadraticEnergy(), (2,), init=uniform_box, buffer_size=10)
    with pytest.raises(NotImplementedError, match="log_partition_on_grid"):
        model.log_prob(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        model.loss(torch.zeros(3, 3))


def test_replay_buffer_draws_and_stores():
    torch.manual_seed(0)
    buffer = ReplayBuffer(50, lambda n: torch.zeros(n, 2), reinit_prob=0.0)
    start = buffer.draw(10)
    drawn = set(buffer._index.tolist())
    buffer.store(start + 1)
    changed = set(torch.nonzero(buffer.samples[:, 0] == 1).flatten().tolist())
    assert changed == drawn and float(buffer.samples.sum()) == 2 * len(drawn)
    with pytest.raises(ValueError, match="must follow draw"):
        buffer.store(start)
    with pytest.raises(ValueError, match="reinit_prob"):
        ReplayBuffer(5, lambda n: torch.zeros(n, 2), reinit_prob=2.0)


# ---- the noise-conditional score model ----------------------------------------------------------
def test_noise_conditional_score_model_shapes_and_errors(device):
    torch.manual_seed(0)
    sigmas = geometric_sigmas(1.0, 0.01, 5)
    model = NoiseConditionalScoreModel(ConditionedMLP(2, hidden=16, n_layers=2, emb_dim=8), (2,),
                                       sigmas).to(device)
    x = torch.randn(6, 2, device=device)
    loss = model.loss(x)
    assert loss.shape == (6,) and loss.device.type == device.type
    assert model.score(x, 2).shape == (6, 2)
    assert model.sample(4, n_steps_each=2).shape == (4, 2)
    with pytest.raises(ValueError, match="level must be in 0..4"):
        model.score(x, 5)
    with pytest.raises(ValueError, match="decreasing sequence"):
        NoiseConditionalScoreModel(model.net, (2,), [0.1, 0.2])
    with pytest.raises(ValueError, match="sigma_min"):
        geometric_sigmas(0.1, 1.0, 3)
