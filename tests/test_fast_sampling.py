"""Few-step samplers: DPM-Solver++(2M) against DDIM on data whose exact denoiser is known,
and rectified flow's pairs and loss.

For Gaussian data the probability-flow ODE is solved to high accuracy by either solver with
all T = 1000 steps; from the same noise, the error of S steps against that solution shrinks
like 1/S for DDIM (first order) and much faster for DPM-Solver++(2M) (second order).
"""

from __future__ import annotations

import pytest
import torch

from gmlib.diffusion import (
    FlowMatching,
    GaussianDataDenoiser,
    GaussianDataVelocity,
    GaussianDiffusion,
    Reflow,
    dpm_solver_sample,
    make_schedule,
    reflow_pairs,
)

MEAN, VAR = 0.5, 0.3


def gaussian_model() -> GaussianDiffusion:
    schedule = make_schedule("cosine", 1000)
    return GaussianDiffusion(GaussianDataDenoiser(MEAN, VAR, schedule), (4,),
                             schedule=schedule).double()


def _draw(model: GaussianDiffusion, steps: int, solver: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)  # the same noise for every solver
    if solver == "dpm":
        return dpm_solver_sample(model, 2000, steps=steps, generator=generator)
    return model.sample(2000, steps=steps, eta=0.0, generator=generator)


def test_dpm_solver_converges_faster_than_ddim():
    model = gaussian_model()
    reference = _draw(model, 1000, "dpm")
    assert (_draw(model, 1000, "ddim") - reference).abs().max() < 0.01
    error = {(solver, steps): (_draw(model, steps, solver) - reference).abs().max().item()
             for solver in ("dpm", "ddim") for steps in (10, 20)}
    assert error["ddim", 10] / error["ddim", 20] == pytest.approx(2, rel=0.1)  # first order
    assert error["dpm", 10] < error["ddim", 10] / 2
    assert error["dpm", 20] < error["ddim", 20] / 10


def test_dpm_solver_gets_the_data_variance_in_few_steps():
    model = gaussian_model()
    assert _draw(model, 20, "dpm").var().item() == pytest.approx(VAR, rel=0.02)
    assert abs(_draw(model, 20, "ddim").var().item() - VAR) > 0.1 * VAR


def test_dpm_solver_misuse():
    model = gaussian_model()
    with pytest.raises(TypeError, match="GaussianDiffusion"):
        dpm_solver_sample(torch.nn.Linear(2, 2), 4, steps=5)
    with pytest.raises(ValueError, match="steps"):
        dpm_solver_sample(model, 4, steps=0)
    with pytest.raises(ValueError, match="at most T"):
        dpm_solver_sample(model, 4, steps=2000)
    with pytest.raises(ValueError, match="n"):
        dpm_solver_sample(model, 0, steps=5)


def _gaussian_flow() -> FlowMatching:
    return FlowMatching(GaussianDataVelocity(MEAN, VAR), (3,)).double()


def test_reflow_pairs_are_the_ends_of_the_ode(seed):
    flow = _gaussian_flow()
    noise, ends = reflow_pairs(flow, 10, steps=20, method="rk4", batch_size=4)
    assert noise.shape == ends.shape == (10, 3)
    assert torch.allclose(ends, flow.integrate(noise, steps=20, method="rk4"))
    # the exact flow between two Gaussians is the affine map mean + sqrt(var) x0
    assert torch.allclose(ends, MEAN + VAR ** 0.5 * noise, atol=1e-4)


class StraightAffineVelocity(torch.nn.Module):
    """The field whose paths are the straight lines from x0 to mean + sqrt(var) x0: at x_t
    on such a line, x0 = (x_t - t mean) / (1 - t + t sqrt(var)), velocity mean + (sqrt(var)
    - 1) x0."""

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: object = None) -> torch.Tensor:
        t = t.view(-1, 1)
        scale = VAR ** 0.5
        x0 = (x - t * MEAN) / (1 - t + t * scale)
        return MEAN + (scale - 1) * x0


def test_reflow_regresses_on_the_given_pairs(seed):
    flow = FlowMatching(StraightAffineVelocity(), (3,)).double()
    noise = torch.randn(50, 3, dtype=torch.float64)
    ends = MEAN + VAR ** 0.5 * noise
    # this field moves along the straight lines between the coupled pairs, so its
    # regression loss on them is zero; on independent pairs the lines cross and it is not
    assert Reflow(flow).loss(ends, noise).abs().max() < 1e-10
    assert flow.loss(ends).mean() > 0.1


def test_reflow_misuse():
    flow = _gaussian_flow()
    with pytest.raises(ValueError, match="pairs"):
        Reflow(flow).loss(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"x0 and x1 must both have shape"):
        flow.coupled_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="FlowMatching"):
        Reflow(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="FlowMatching"):
        reflow_pairs(torch.nn.Linear(2, 2), 3)
