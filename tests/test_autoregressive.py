"""Autoregressive models: exact normalisation, the autoregressive property by gradients,
samples that follow log_prob, cached samplers equal to the naive ones, clear errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gmlib.autoregressive import (
    FVSBN,
    MADE,
    NADE,
    RNADE,
    CausalTransformer,
    PixelCNN,
    RowLSTM,
    SequenceLSTM,
    WaveNet,
)
from gmlib.autoregressive.wavenet import receptive_field
from gmlib.testing import assert_autoregressive, assert_normalized, assert_samples_match


def _randomise(model: torch.nn.Module, std: float = 0.7) -> torch.nn.Module:
    """Random weights far from the initialisation, so no conditional is trivially uniform."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
    return model.double().eval()


# (name, factory(event_shape, n_levels)); binary-only models ignore n_levels
MODELS = {
    "fvsbn": lambda shape, k: FVSBN(shape, order="random"),
    "nade": lambda shape, k: NADE(shape, hidden=7, order="random"),
    "made": lambda shape, k: MADE(shape, k, hidden_sizes=(16, 16)),
    "made-ensemble": lambda shape, k: MADE(shape, k, hidden_sizes=(16,), n_masks=4,
                                           random_connectivity=True, seed=3),
    "pixelcnn-gated": lambda shape, k: PixelCNN(shape, k, channels=8, n_layers=2),
    "pixelcnn-plain": lambda shape, k: PixelCNN(shape, k, channels=8, n_layers=2,
                                                first_kernel_size=3, gated=False),
    "lstm": lambda shape, k: SequenceLSTM(shape, k, hidden=8),
    "row-lstm": lambda shape, k: RowLSTM(shape, k, hidden=6, n_layers=2),
    "wavenet": lambda shape, k: WaveNet(shape, k, channels=8),
    "transformer": lambda shape, k: CausalTransformer(shape, k, width=16, n_heads=2),
}
BINARY_ONLY = {"fvsbn", "nade"}
CACHED = ["nade", "made", "made-ensemble", "lstm", "wavenet", "transformer"]


@pytest.mark.parametrize("name", list(MODELS))
def test_sums_to_one_over_all_binary_images(seed, name):
    """sum over all 2^9 binary 3x3 images of p(x) is 1 (float64)."""
    model = _randomise(MODELS[name]((3, 3), 2))
    total = assert_normalized(model.log_prob, 9, event_shape=(3, 3), atol=1e-9)
    assert total == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("name", sorted(set(MODELS) - BINARY_ONLY))
def test_sums_to_one_over_all_inputs_with_three_levels(seed, name):
    model = _randomise(MODELS[name]((2, 3), 3))
    assert_normalized(model.log_prob, 6, n_levels=3, event_shape=(2, 3), atol=1e-9)


def _inputs(model: torch.nn.Module, n_dims: int, n_levels: int) -> torch.Tensor:
    x = torch.randint(n_levels, (4, n_dims)).double()
    return model.encode(x).requires_grad_(True)


@pytest.mark.parametrize("name", list(MODELS))
def test_autoregressive_property_by_gradients(seed, name):
    """Output i has zero gradient with respect to every input at or after i in the order."""
    k = 2 if name in BINARY_ONLY else 3
    model = _randomise(MODELS[name]((5, 5), k))
    if isinstance(model, MADE):
        for index in range(model.n_masks):
            model.use_mask(index)
            assert_autoregressive(model.conditional_logits, 25, order=model.order,
                                  x=_inputs(model, 25, k))
        return
    dependency = assert_autoregressive(model.conditional_logits, 25, order=model.order,
                                       x=_inputs(model, 25, k))
    assert dependency[24, :24].gt(0).sum() > 0  # and it does use the past


def _sees(dependency: torch.Tensor, pixel: tuple[int, int], width: int) -> torch.Tensor:
    return dependency[pixel[0] * width + pixel[1]].reshape(-1, width) > 0


def test_gated_pixelcnn_has_no_blind_spot_and_plain_one_has(seed):
    """Pixel (3, 1) may see rows 0-2 and (3, 0); the plain stack misses the top right."""
    allowed = torch.zeros(6, 6, dtype=torch.bool)
    allowed[:3] = True
    allowed[3, 0] = True
    for gated in (True, False):
        model = _randomise(PixelCNN((6, 6), 2, channels=8, n_layers=3, first_kernel_size=3,
                                    gated=gated))
        dependency = assert_autoregressive(model.conditional_logits, 36,
                                           x=_inputs(model, 36, 2))
        seen = _sees(dependency, (3, 1), 6)
        if gated:
            assert torch.equal(seen, allowed)
        else:
            assert not seen[0, 5] and not seen[1, 5] and seen[2, 2]
            assert not (seen & ~allowed).any()


def test_row_lstm_has_a_triangular_receptive_field(seed):
    """PixelRNN's Row LSTM sees a triangle: far-side pixels of earlier rows stay unseen."""
    model = _randomise(RowLSTM((6, 6), 2, hidden=6, n_layers=2, first_kernel_size=3))
    dependency = assert_autoregressive(model.conditional_logits, 36, x=_inputs(model, 36, 2))
    left = _sees(dependency, (4, 1), 6)
    assert left[3, :3].all() and not left[3, 4] and not left[2, 5]  # the right side is cut
    right = _sees(dependency, (3, 5), 6)
    assert right[2, 5] and not right[2, 0] and not right[3, 0]  # and the far left
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        RowLSTM((4, 4), kernel_size=2)
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\) or \(1, H, W\)"):
        RowLSTM((2, 4, 4))


def test_gated_pixelcnn_with_blind_spot_misses_the_top_right(seed):
    """The ablation's mask: same parameters, and a triangular blind spot."""
    clear, blind = (_randomise(PixelCNN((6, 6), 2, channels=8, n_layers=3, first_kernel_size=3,
                                        blind_spot=b)) for b in (False, True))
    assert sum(p.numel() for p in clear.parameters()) == sum(
        p.numel() for p in blind.parameters())
    seen = _sees(assert_autoregressive(blind.conditional_logits, 36,
                                       x=_inputs(blind, 36, 2)), (3, 1), 6)
    assert seen[2, 1] and seen[0, 3] and not seen[2, 2] and not seen[0, 5]
    with pytest.raises(ValueError, match="blind_spot applies to the gated architecture"):
        PixelCNN((4, 4), gated=False, blind_spot=True)


def test_wavenet_receptive_field_is_measured_by_gradients(seed):
    model = _randomise(WaveNet(40, 2, channels=8, dilations=[1, 2, 4], kernel_size=2))
    assert model.receptive_field == receptive_field(2, [1, 2, 4]) == 8
    dependency = assert_autoregressive(model.conditional_logits, 40, x=_inputs(model, 40, 2))
    seen = (dependency[30] > 0).nonzero().flatten().tolist()
    assert seen == list(range(30 - 8, 30))  # exactly the 8 values before position 30
    assert WaveNet(64).receptive_field >= 64


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made-ensemble", "pixelcnn-gated"])
def test_samples_follow_log_prob(seed, name):
    model = _randomise(MODELS[name]((2, 2), 2), std=1.0)
    gen = torch.Generator().manual_seed(0)
    assert_samples_match(lambda n: model.sample(n, generator=gen), model.log_prob, 4,
                         event_shape=(2, 2), n_samples=8000)


@pytest.mark.parametrize("name", CACHED)
def test_cached_sampler_equals_naive_sampler_given_the_same_random_numbers(seed, name):
    model = _randomise(MODELS[name](12, 3))
    naive = model.sample(200, method="naive", generator=torch.Generator().manual_seed(5))
    cached = model.sample(200, method="cached", generator=torch.Generator().manual_seed(5))
    assert torch.equal(naive, cached)
    assert len(naive.unique(dim=0)) > 20  # and the samples are not all alike


@pytest.mark.parametrize("name", CACHED)
def test_cached_sampler_follows_log_prob(seed, name):
    model = _randomise(MODELS[name](4, 2), std=1.0)
    gen = torch.Generator().manual_seed(0)
    assert_samples_match(lambda n: model.sample(n, method="cached", generator=gen),
                         model.log_prob, 4, n_samples=8000)


def test_made_ensemble_is_the_mixture_of_its_orderings(seed):
    model = _randomise(MADE(6, hidden_sizes=(12,), n_masks=3, order="random"))
    x = torch.randint(2, (10, 6)).double()
    members = []
    for index in range(3):
        model.use_mask(index)
        members.append(model.log_prob_flat(x))
    model.use_mask(0)
    expected = torch.logsumexp(torch.stack(members), 0) - math.log(3)
    assert torch.allclose(model.log_prob(x), expected)
    assert len({tuple(o.tolist()) for o in model.orders}) == 3


def test_made_order_agnostic_training_uses_one_random_mask_per_step(seed):
    model = _randomise(MADE(6, hidden_sizes=(12,), n_masks=4)).train()
    x = torch.randint(2, (10, 6)).double()
    used = set()
    for _ in range(30):
        model.loss(x)
        used.add(model.mask_index)
    assert used == {0, 1, 2, 3}
    assert torch.allclose(model.eval().loss(x), -model.log_prob(x))


def test_rnade_conditionals_integrate_to_one_and_it_is_autoregressive(seed):
    model = _randomise(RNADE(3, hidden=6, n_components=3, order=[2, 0, 1]), std=0.3)
    grid = torch.linspace(-30, 30, 30001, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(3):  # p(x_1 | x_2, x_0) for a random prefix, and p(x_2) (first)
            prefix = torch.randn(3, dtype=torch.float64)
            x = prefix.repeat(len(grid), 1)
            x[:, 1] = grid
            logits, means, log_scales = model.conditional_params(x[:1])
            z = (grid[:, None] - means[0, 1]) / log_scales[0, 1].exp()
            density = (torch.softmax(logits[0, 1], -1) * torch.exp(-0.5 * z**2)
                       / (log_scales[0, 1].exp() * math.sqrt(2 * math.pi))).sum(-1)
            assert float(density.sum() * (grid[1] - grid[0])) == pytest.approx(1, abs=1e-6)
            # and log_prob is that conditional times the rest
            log_joint = model.log_prob(x[:2])
            assert torch.isfinite(log_joint).all()
    assert_autoregressive(lambda v: torch.stack(model.conditional_params(v), -1), 3,
                          order=model.order, x=torch.randn(4, 3, dtype=torch.float64))


def test_rnade_density_integrates_to_one_in_two_dimensions(seed):
    model = _randomise(RNADE(2, hidden=4, n_components=2), std=0.2)
    grid = torch.linspace(-12, 12, 1201, dtype=torch.float64)
    points = torch.cartesian_prod(grid, grid)
    with torch.no_grad():
        total = model.log_prob(points).exp().sum() * (grid[1] - grid[0]) ** 2
    assert float(total) == pytest.approx(1.0, abs=1e-3)


def test_rnade_samples_match_its_density(seed):
    model = _randomise(RNADE(2, hidden=4, n_components=2), std=0.2)
    samples = model.sample(40000, generator=torch.Generator().manual_seed(0))
    grid = torch.linspace(-12, 12, 801, dtype=torch.float64)
    points = torch.cartesian_prod(grid, grid)
    with torch.no_grad():
        weights = model.log_prob(points).exp() * (grid[1] - grid[0]) ** 2
    mean = (weights[:, None] * points).sum(0)
    second = (weights[:, None] * points**2).sum(0)
    assert torch.allclose(samples.mean(0), mean, atol=0.03)
    assert torch.allclose(samples.pow(2).mean(0), second, rtol=0.05)


@pytest.mark.parametrize("name", ["fvsbn", "nade", "made", "pixelcnn-gated"])
def test_binary_models_reject_non_binary_input(name):
    model = MODELS[name]((2, 2), 2)
    with pytest.raises(ValueError, match=r"binary values \{0, 1\}.*binarise"):
        model.log_prob(torch.tensor([[[0.0, 1.0], [2.0, 0.0]]]))


@pytest.mark.parametrize("name", sorted(set(MODELS) - BINARY_ONLY))
def test_categorical_models_reject_values_outside_the_levels(name):
    model = MODELS[name]((2, 2), 17)
    with pytest.raises(ValueError, match=r"integer levels \{0, \.\.\., 16\}"):
        model.log_prob(torch.full((1, 2, 2), 17.0))
    with pytest.raises(ValueError, match="integer levels"):
        model.log_prob(torch.full((1, 2, 2), 0.5))
    with pytest.raises(ValueError, match=r"shape \(batch, 2, 2\)"):
        model.log_prob(torch.zeros(1, 4))


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="event_shape must be a positive int"):
        NADE(0)
    with pytest.raises(ValueError, match="order must be a permutation of 0..3"):
        FVSBN(4, order=[0, 1, 1, 2])
    with pytest.raises(ValueError, match="order must be 'natural', 'random'"):
        MADE(4, order="reversed")
    with pytest.raises(ValueError, match="n_levels must be an int >= 2"):
        PixelCNN((8, 8), 1)
    with pytest.raises(ValueError, match="one-channel images"):
        PixelCNN((3, 8, 8))
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        PixelCNN((8, 8), kernel_size=4)
    with pytest.raises(ValueError, match=r"width \(30\) must be divisible by n_heads \(4\)"):
        CausalTransformer(64, width=30)
    with pytest.raises(ValueError, match="dropout must be in"):
        CausalTransformer(64, dropout=1.0)
    with pytest.raises(ValueError, match="hidden must be an int >= 1"):
        NADE(64, hidden=0)


def test_sampling_method_is_checked():
    with pytest.raises(ValueError, match="PixelCNN has no cached sampler; use method='naive'"):
        PixelCNN((2, 2)).sample(2, method="cached")
    with pytest.raises(ValueError, match="method must be 'naive' or 'cached'"):
        WaveNet(4).sample(2, method="fast")
    assert WaveNet(4).has_cache and NADE(4).has_cache and not FVSBN(4).has_cache


def test_default_constructors_take_the_number_of_inputs_first():
    for model in (FVSBN(64), NADE(64), MADE(64), RNADE(64), SequenceLSTM(64), WaveNet(64),
                  CausalTransformer(64), PixelCNN((1, 8, 8))):
        assert model.event_shape in ((64,), (1, 8, 8))


@pytest.mark.parametrize("name", list(MODELS))
def test_models_follow_their_inputs_device(device, name):
    model = MODELS[name]((1, 3, 3), 2).to(device)
    x = torch.randint(2, (5, 1, 3, 3), device=device).float()
    assert model.log_prob(x).shape == (5,) and model.log_prob(x).device.type == device.type
    samples = model.sample(3)
    assert samples.shape == (3, 1, 3, 3) and samples.device.type == device.type
    assert model.loss(x).shape == (5,)


def test_one_hot_encoding_matches_levels():
    model = CausalTransformer(3, 4)
    h = model.encode(torch.tensor([[0.0, 3.0, 1.0]]))
    assert torch.equal(h, F.one_hot(torch.tensor([[0, 3, 1]]), 4).float())
