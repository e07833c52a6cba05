"""Conditional PixelCNN p(x | y) and exact completion of autoregressive models: normalisation
for every condition, the autoregressive property with the condition fixed, exact conditional
samples, training on (x, y) pairs, devices and errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from gmlib.autoregressive import ConditionalPixelCNN, PixelCNN, WaveNet
from gmlib.testing import assert_autoregressive, assert_normalized, assert_samples_match
from gmlib.train import fit


def _randomise(model: torch.nn.Module) -> torch.nn.Module:
    """Float64, eval mode, weights far from their initial values (so no term is ~0)."""
    torch.manual_seed(0)
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def _condition(batch: int, channels: int, shape=(2, 3), seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, *shape, generator=gen, dtype=torch.float64)


def test_sums_to_one_for_every_condition():
    model = _randomise(ConditionalPixelCNN((2, 3), 3, cond_channels=2, channels=8, n_layers=2))
    for seed in range(3):
        y = _condition(1, 2, seed=seed)
        total = assert_normalized(lambda x, y=y: model.log_prob(x, c=y), 6, n_levels=3,
                                  event_shape=(2, 3), atol=1e-9)
        assert total == pytest.approx(1.0, abs=1e-9)


def test_autoregressive_in_x_and_free_in_the_condition():
    model = _randomise(ConditionalPixelCNN((5, 5), 2, cond_channels=1, channels=8,
                                           n_layers=2))
    y = _condition(4, 1, shape=(5, 5))
    x = model.encode(torch.randint(2, (4, 25)).double()).requires_grad_(True)
    with model._conditioned(y, 4):
        assert_autoregressive(model.conditional_logits, 25, x=x)
    # the first pixel depends on the condition, including its far corner
    y = y.clone().requires_grad_(True)
    first = model.log_prob(torch.zeros(4, 5, 5, dtype=torch.float64), c=y)
    (grad,) = torch.autograd.grad(first.sum(), y)
    assert grad.abs().sum() > 0


def test_samples_follow_the_conditional_distribution():
    torch.manual_seed(0)
    model = _randomise(ConditionalPixelCNN((2, 2), 3, cond_channels=1, channels=8,
                                           n_layers=1))
    y = _condition(1, 1, shape=(2, 2))
    assert_samples_match(lambda n: model.sample(n, c=y), lambda x: model.log_prob(x, c=y), 4,
                         n_levels=3, event_shape=(2, 2), n_samples=20000)


@pytest.mark.parametrize("make", [
    lambda: PixelCNN((2, 3), 2, channels=8, n_layers=2),
    lambda: WaveNet((2, 3), 2, channels=8),
])
def test_complete_samples_the_exact_conditional_of_the_rest(make):
    """Keeping the first row, the completions follow p(row 2 | row 1) = p(x) / p(row 1)."""
    torch.manual_seed(0)
    model = _randomise(make())
    known = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    rests = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=torch.float64)
    joint = model.log_prob(torch.cat([known.expand(8, 3), rests], 1).view(8, 2, 3))
    log_marginal = torch.logsumexp(joint, 0)

    def log_conditional(rest):
        full = torch.cat([known.expand(len(rest), 3), rest.reshape(-1, 3)], 1)
        return model.log_prob(full.view(-1, 2, 3)) - log_marginal

    def completions(n):
        start = torch.cat([known.expand(n, 3), torch.ones(n, 3, dtype=torch.float64)], 1)
        out = model.complete(start.view(n, 2, 3), 3).reshape(n, 6)
        assert torch.equal(out[:, :3], known.expand(n, 3))  # the known pixels are kept
        return out[:, 3:]

    assert_samples_match(completions, log_conditional, 3, n_samples=20000)


def test_complete_edge_cases_and_errors():
    model = PixelCNN((1, 4, 4), 3, channels=8, n_layers=1).eval()
    x = torch.randint(3, (5, 1, 4, 4)).float()
    assert torch.equal(model.complete(x, 16), x)
    out = model.complete(x, 0, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.max() <= 2
    with pytest.raises(ValueError, match="at most D = 16"):
        model.complete(x, 17)
    with pytest.raises(ValueError, match="n_known"):
        model.complete(x, -1)
    with pytest.raises(ValueError):
        model.complete(x + 0.5, 3)


def test_inpaint_with_a_prefix_mask_is_complete_and_keeps_the_kept_values():
    model = _randomise(ConditionalPixelCNN((1, 4, 4), 3, cond_channels=1, channels=8,
                                           n_layers=2))
    x = torch.randint(3, (6, 1, 4, 4)).double()
    y = _condition(6, 1, shape=(4, 4))
    prefix = torch.zeros(1, 4, 4)
    prefix.view(-1)[:7] = 1
    completed = model.complete(x, 7, c=y, generator=torch.Generator().manual_seed(3))
    inpainted = model.inpaint(x, prefix, c=y, generator=torch.Generator().manual_seed(3))
    assert torch.equal(inpainted, completed)  # the same uniforms give the same draws
    hole = torch.ones(6, 1, 4, 4)
    hole[:, :, 1:3, 1:3] = 0
    hole[0] = 1  # the first example keeps everything
    out = model.inpaint(x, hole, c=y)
    assert torch.equal(out * hole, x * hole) and torch.equal(out[0], x[0])
    assert out.max() <= 2 and torch.equal(out, out.round())


def test_inpaint_errors():
    model = PixelCNN((1, 4, 4), 3, channels=8, n_layers=1).eval()
    x = torch.randint(3, (5, 1, 4, 4)).float()
    with pytest.raises(ValueError, match=r"mask must be a 0/1 tensor of shape \(5, 1, 4, 4\)"):
        model.inpaint(x, torch.ones(4, 4))
    with pytest.raises(ValueError, match="only 0"):
        model.inpaint(x, torch.full((1, 4, 4), 0.5))
    assert torch.equal(model.inpaint(x, torch.ones(1, 4, 4)), x)


def test_trains_on_pairs_and_uses_the_condition(device):
    """Conditioned on a blurred copy of the image itself, the model beats the same network
    without the information by a wide margin after a few epochs."""
    torch.manual_seed(0)
    x = torch.randint(0, 2, (256, 1, 6, 6)).float()
    x[:, :, :, :3] = x[:, :, :, 3:]  # some structure: left half mirrors the right half
    informative = x.to(device) * 0.8 + 0.1
    useless = torch.zeros_like(informative)
    scores = []
    for y in (informative, useless):
        model = ConditionalPixelCNN((1, 6, 6), 2, cond_channels=1, channels=16, n_layers=2)
        fit(model, (x.to(device), y), epochs=15, lr=1e-2, batch_size=64, device=device,
            seed=0, progress=False)
        with torch.no_grad():
            scores.append(float(-model.log_prob(x.to(device), c=y).mean()))
    assert scores[0] < 0.25 * scores[1]
    samples = model.sample(3, c=useless[:1])
    assert samples.shape == (3, 1, 6, 6) and samples.device.type == device.type


def test_condition_errors():
    model = ConditionalPixelCNN((1, 4, 4), 2, cond_channels=2, channels=8, n_layers=1)
    x = torch.zeros(3, 1, 4, 4)
    with pytest.raises(TypeError, match="needs its condition"):
        model.log_prob(x)
    with pytest.raises(ValueError, match=r"c must have shape \(3, 2, 4, 4\)"):
        model.log_prob(x, c=torch.zeros(3, 1, 4, 4))
    with pytest.raises(ValueError, match="c must have shape"):
        model.sample(2, c=torch.zeros(3, 2, 4, 4))
    with pytest.raises(RuntimeError, match="only set inside"):
        model.conditional_logits(model.encode(x.flatten(1)))
    with pytest.raises(ValueError, match="cond_channels"):
        ConditionalPixelCNN((1, 4, 4), 2, cond_channels=0)
    # a shared condition (batch 1) is broadcast
    assert model.log_prob(x, c=torch.zeros(1, 2, 4, 4)).shape == (3,)
