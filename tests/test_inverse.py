"""Inverse problems by posterior sampling (`gmlib.diffusion.inverse`): the operators' algebra,
replacement against the exact posterior of Gaussian data, DPS against unguided sampling,
and the errors bad input gets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gmlib.diffusion import GaussianDataDenoiser, GaussianDiffusion, make_schedule
from gmlib.diffusion.inverse import BlockAverage, Inpainting, dps_sample, replacement_sample

MEAN, VAR = 0.5, 0.25


def gaussian_pixels(timesteps: int = 100) -> GaussianDiffusion:
    """A diffusion over 2x2 images of independent N(0.5, 0.25) pixels, exact denoiser."""
    schedule = make_schedule("linear", timesteps)
    denoiser = GaussianDataDenoiser(MEAN, VAR, schedule)
    return GaussianDiffusion(denoiser, (1, 2, 2), schedule=schedule).double()


def test_project_makes_the_measurement_exact_and_is_a_projection():
    x, target = torch.randn(5, 1, 4, 6), torch.randn(5, 1, 4, 6)
    for op in (BlockAverage(2), Inpainting((torch.rand(4, 6) < 0.5).float())):
        y = op.measure(target)
        projected = op.project(x, y)
        torch.testing.assert_close(op.measure(projected), y)
        torch.testing.assert_close(op.project(projected, y), projected)  # idempotent
        # A^+ is a right inverse of A: lifting then measuring gives y back
        torch.testing.assert_close(op.measure(op.lift(y)), y)


def test_replacement_samples_the_exact_posterior_of_gaussian_pixels():
    # independent Gaussian pixels: given the block mean y, every pixel has mean y and the
    # deviations from the block mean have variance VAR * 3/4 (the posterior of N(m, v I)
    # given the mean of 4 coordinates); replacement with the exact denoiser is exact here,
    # up to DDPM's own discretisation (T = 1000 keeps that below the tolerance)
    model = gaussian_pixels(1000)
    y = torch.full((4000, 1, 1, 1), 1.1, dtype=torch.float64)
    x = replacement_sample(model, BlockAverage(2), y, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 1, 2, 2) and x.dtype == torch.float64
    torch.testing.assert_close(x.mean(dim=(2, 3)), y.view(4000, 1), atol=1e-9, rtol=0)
    deviation = x - x.mean(dim=(2, 3), keepdim=True)
    assert abs(float(deviation.var(dim=0).mean()) - 0.75 * VAR) < 0.02


def test_replacement_keeps_observed_pixels_and_samples_the_prior_elsewhere():
    model = gaussian_pixels(400)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    truth = torch.randn(2000, 1, 2, 2, dtype=torch.float64)
    op = Inpainting(mask)
    x = replacement_sample(model, op, op.measure(truth), resample=2,
                           generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(op.measure(x), op.measure(truth))
    missing = x[:, 0, 0, 1]  # independent pixels: the posterior there is the prior
    assert abs(float(missing.mean()) - MEAN) < 0.04
    assert abs(float(missing.var()) - VAR) < 0.03


def test_dps_pulls_samples_towards_the_measurement():
    model = gaussian_pixels()
    y = torch.full((500, 1, 1, 1), 1.5, dtype=torch.float64)
    op = BlockAverage(2)
    free = dps_sample(model, op, y, step_size=0.0, generator=torch.Generator().manual_seed(2))
    guided = dps_sample(model, op, y, step_size=0.5, generator=torch.Generator().manual_seed(2))
    free_error = float((op.measure(free) - y).abs().mean())
    guided_error = float((op.measure(guided) - y).abs().mean())
    assert free_error > 0.7  # unguided: the block mean stays near the prior's 0.5
    assert guided_error < 0.25 * free_error


def test_samplers_return_grey_levels_for_a_levels_model():
    class Flat(nn.Module):
        def forward(self, x_t, t, c=None):  # logits over 5 levels: uniform
            return torch.zeros(x_t.shape[0], 5, *x_t.shape[2:])

    model = GaussianDiffusion(Flat(), (1, 4, 4), timesteps=20, prediction="levels", n_levels=5)
    truth = torch.randint(0, 5, (3, 1, 4, 4)).float()
    mask = torch.ones(4, 4)
    mask[1:3, 1:3] = 0
    op = Inpainting(mask)
    for sampler in (replacement_sample, dps_sample):
        x = sampler(model, op, op.measure(truth), steps=10)
        assert x.shape == truth.shape
        assert bool(((x >= 0) & (x <= 4) & (x == x.round())).all())
    torch.testing.assert_close(op.measure(replacement_sample(model, op, op.measure(truth))),
                               op.measure(truth))


def test_bad_input_gets_a_clear_error():
    model = gaussian_pixels(10)
    with pytest.raises(ValueError, match="only 0"):
        Inpainting(torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="multiple of factor"):
        BlockAverage(3).measure(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="factor"):
        BlockAverage(0)
    with pytest.raises(ValueError, match=r"y must be measurements of shape \(B, 1, 1, 1\)"):
        replacement_sample(model, BlockAverage(2), torch.zeros(2, 1, 2, 2))
    with pytest.raises(TypeError, match="GaussianDiffusion"):
        replacement_sample(nn.Linear(2, 2), BlockAverage(2), torch.zeros(2, 1, 1, 1))
    with pytest.raises(TypeError, match="LinearMeasurement"):
        dps_sample(model, lambda x: x, torch.zeros(2, 1, 1, 1))
    with pytest.raises(ValueError, match="finite"):
        dps_sample(model, BlockAverage(2), torch.full((2, 1, 1, 1), float("nan")))
    with pytest.raises(ValueError, match="step_size"):
        dps_sample(model, BlockAverage(2), torch.zeros(2, 1, 1, 1), step_size=-1.0)
    with pytest.raises(ValueError, match="resample"):
        replacement_sample(model, BlockAverage(2), torch.zeros(2, 1, 1, 1), resample=0)
