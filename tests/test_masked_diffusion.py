"""MaskedDiffusion: the bound, the exact likelihood of tiny models, and the samplers.

The tiny problems have D = 3 variables with K = 3 values, so every mask (2^D), every ordering
(D!) and every x (K^D = 27) can be enumerated: the bound is compared with the exact
likelihood of the model's own sampler, and with log p*(x) for a denoiser that returns the
true conditionals of a known joint p*, where the bound is tight.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor, nn

from gmlib.diffusion import MaskedConvDenoiser, MaskedDiffusion

K, D = 3, 3
ALL_X = torch.tensor(list(itertools.product(range(K), repeat=D)))  # (27, 3)


class TinyDenoiser(nn.Module):
    """An MLP on the one-hot tokens (MASK included): arbitrary, inconsistent conditionals."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(D * (K + 1), 32), nn.Tanh(), nn.Linear(32, D * K))

    def forward(self, tokens: Tensor) -> Tensor:
        one_hot = nn.functional.one_hot(tokens, K + 1).to(self.net[0].weight.dtype)
        return self.net(one_hot.flatten(1)).view(len(tokens), D, K) * 3


class TrueConditionals(nn.Module):
    """Logits of p*(x_i | visible variables) for a fixed joint p* over the 27 values."""

    def __init__(self, joint: Tensor) -> None:
        super().__init__()
        self.log_joint = joint.log()

    def forward(self, tokens: Tensor) -> Tensor:
        out = torch.empty(len(tokens), D, K, dtype=self.log_joint.dtype)
        for b, row in enumerate(tokens):
            visible = row < K
            consistent = (ALL_X[:, visible] == row[visible]).all(-1)
            for i in range(D):
                for k in range(K):
                    match = consistent & (ALL_X[:, i] == k)
                    out[b, i, k] = torch.logsumexp(self.log_joint[match], 0)
        return out


def tiny_model(denoiser: nn.Module | None = None) -> MaskedDiffusion:
    return MaskedDiffusion(denoiser or TinyDenoiser(), (D,), K).double()


def test_the_exact_likelihood_of_the_sampler_is_normalised(seed):
    model = tiny_model()
    assert model.exact_log_prob(ALL_X).exp().sum().item() == pytest.approx(1.0, abs=1e-10)


def test_the_bound_is_below_the_exact_likelihood_and_not_equal_to_it(seed):
    # an arbitrary network's conditionals disagree between orderings, so Jensen is strict
    model = tiny_model()
    bound, exact = model.exact_elbo(ALL_X), model.exact_log_prob(ALL_X)
    assert (bound <= exact + 1e-12).all()
    assert (exact - bound).max() > 1e-3


def test_the_bound_is_tight_for_the_true_conditionals_of_a_joint(seed):
    joint = torch.rand(K ** D, dtype=torch.float64) + 0.1
    joint /= joint.sum()
    model = tiny_model(TrueConditionals(joint))
    assert torch.allclose(model.exact_elbo(ALL_X), joint.log(), atol=1e-10)
    assert torch.allclose(model.exact_log_prob(ALL_X), joint.log(), atol=1e-10)


def test_the_estimators_average_to_the_enumerated_bound(seed):
    model = tiny_model()
    x = ALL_X[[0, 5, 13, 26]]
    exact = -model.exact_elbo(x)
    copies = x.repeat(4000, 1)
    with torch.no_grad():
        count = model.loss(copies).view(4000, -1).mean(0)
        stratified = -model.elbo(x.repeat(500, 1)).view(500, -1).mean(0)
        timed = model.time_loss(copies).view(4000, -1).mean(0)
    assert torch.allclose(stratified, exact, rtol=0.02)
    assert torch.allclose(count, exact, rtol=0.03)
    assert torch.allclose(timed, exact, rtol=0.15)  # the 1/t weight makes it noisy


def test_stratified_bound_has_less_variance_than_the_time_form(seed):
    model = tiny_model()
    x = ALL_X[13:14].repeat(2000, 1)
    with torch.no_grad():
        assert model.elbo(x).var() < model.time_loss(x).var()


def test_one_variable_a_step_samples_the_exact_likelihood(seed):
    model = tiny_model()
    n = 20000
    samples = model.sample(n).long()
    index = (samples * torch.tensor([K * K, K, 1])).sum(-1)
    freq = torch.bincount(index, minlength=K ** D).double() / n
    p = model.exact_log_prob(ALL_X).exp()
    assert (freq - p).abs().sum() / 2 < 0.03  # total variation


def test_one_step_draws_every_variable_from_the_fully_masked_conditionals(seed):
    model = tiny_model()
    n = 20000
    samples = model.sample(n, steps=1).long()
    with torch.no_grad():
        marginals = model.log_probs(torch.full((1, D), K)).exp()[0]  # (D, K)
    product = torch.stack([marginals[i][ALL_X[:, i]] for i in range(D)]).prod(0)
    index = (samples * torch.tensor([K * K, K, 1])).sum(-1)
    freq = torch.bincount(index, minlength=K ** D).double() / n
    assert (freq - product).abs().sum() / 2 < 0.03


def test_complete_keeps_the_visible_variables(seed):
    model = tiny_model()
    x = ALL_X[[4, 20]]
    mask = torch.tensor([[1, 0, 1], [0, 0, 1]])
    out = model.complete(x, mask)
    assert torch.equal(out[mask.bool()], x[mask.bool()])
    assert ((out >= 0) & (out < K)).all()


def test_unmask_counts_add_up_and_bad_steps_are_refused():
    model = tiny_model()
    big = MaskedDiffusion(MaskedConvDenoiser((1, 8, 8), 17, channels=8, n_blocks=1),
                          (1, 8, 8), 17)
    for steps in (1, 3, 7, 64):
        counts = big.unmask_counts(steps)
        assert sum(counts) == 64 and len(counts) == steps and min(counts) >= 1
    with pytest.raises(ValueError, match="at most D = 3"):
        model.sample(2, steps=4)
    with pytest.raises(ValueError, match="steps"):
        model.sample(2, steps=0)


def test_conv_denoiser_shapes_and_checks(seed):
    net = MaskedConvDenoiser((1, 8, 8), 17, channels=8, n_blocks=1)
    tokens = torch.randint(0, 18, (5, 64))
    assert net(tokens).shape == (5, 64, 17)
    with pytest.raises(ValueError, match=r"event_shape must be \(C, H, W\)"):
        MaskedConvDenoiser((64,), 17)
    model = MaskedDiffusion(net, (1, 8, 8), 17)
    x = torch.randint(0, 17, (4, 1, 8, 8)).float()
    assert model.loss(x).shape == (4,) and model.elbo(x).shape == (4,)
    assert model.sample(3, steps=8).shape == (3, 1, 8, 8)


def test_misuse_is_refused(seed):
    model = tiny_model()
    with pytest.raises(NotImplementedError, match="bound"):
        model.log_prob(ALL_X)
    with pytest.raises(ValueError, match="levels|support|0..2"):
        model.loss(ALL_X + 1)
    with pytest.raises(ValueError, match="shape"):
        model.loss(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        model.q_sample(ALL_X, 1.5)
    with pytest.raises(ValueError, match="mask must have the shape of x"):
        model.complete(ALL_X[:2], torch.ones(2, 2))
    wrong = MaskedDiffusion(nn.Linear(3, 3), (D,), K)
    with pytest.raises(ValueError, match=r"logits of shape \(B, D, K\)"):
        wrong.log_probs(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="masks_per_size"):
        model.elbo(ALL_X, masks_per_size=0)
    with pytest.raises(ValueError, match="n_levels"):
        MaskedDiffusion(TinyDenoiser(), (D,), 1)
    net = MaskedConvDenoiser((1, 4, 4), 3, channels=4, n_blocks=1)
    with pytest.raises(ValueError, match="at most 8 variables"):
        MaskedDiffusion(net, (1, 4, 4), 3).exact_elbo(torch.zeros(1, 1, 4, 4))


def test_q_sample_masks_the_expected_share(seed):
    net = MaskedConvDenoiser((1, 8, 8), 17, channels=4, n_blocks=1)
    model = MaskedDiffusion(net, (1, 8, 8), 17)
    x = torch.randint(0, 17, (500, 1, 8, 8)).float()
    tokens = model.q_sample(x, 0.3)
    share = (tokens == model.mask_token).double().mean().item()
    assert share == pytest.approx(0.3, abs=0.01)
    assert math.isclose((model.q_sample(x, 0.0) == model.mask_token).double().mean().item(), 0)
