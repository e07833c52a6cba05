"""gmlib.flows: invertibility, exact log-determinants, normalisation, sampling and errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from gmlib.data import two_moons
from gmlib.flows import (
    MAF,
    ActNorm,
    AffineCoupling,
    Chain,
    DequantizedFlow,
    ElementwiseSpline,
    FactorOut,
    Flow,
    Glow,
    Inverse,
    InvertibleLinear,
    Logit,
    MaskedAutoregressive,
    RealNVP,
    SplineCoupling,
    SplineFlow,
    Squeeze,
    Transform,
    VariationalDequantizer,
    channel_mask,
    checkerboard_mask,
    make_conditioner,
    rational_quadratic_spline,
)
from gmlib.testing import (
    assert_bounds_below,
    assert_density_normalized,
    assert_density_samples_match,
    assert_invertible,
    cell_probabilities,
)
from gmlib.train import fit

F64 = torch.float64


def _perturbed(module: nn.Module, scale: float = 0.3, seed: int = 0) -> nn.Module:
    """Move every parameter off its (often identity) initial value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


def _image_coupling(kind: str, mask: Tensor) -> Transform:
    if kind == "affine":
        return AffineCoupling(mask, make_conditioner(tuple(mask.shape), 2, hidden=8,
                                                     n_layers=1))
    return SplineCoupling(mask, make_conditioner(tuple(mask.shape), 23, hidden=8, n_layers=1),
                          n_bins=8, bound=3.0)


# Every transform, on a small input so the full Jacobian is cheap: (name, build, input shape)
TRANSFORMS = {
    "actnorm-vector": (lambda: ActNorm(3), (3,)),
    "actnorm-image": (lambda: ActNorm(2), (2, 2, 2)),
    "linear-vector": (lambda: InvertibleLinear(3, seed=0), (3,)),
    "conv1x1-image": (lambda: InvertibleLinear(4, seed=1), (4, 2, 2)),
    "squeeze": (Squeeze, (1, 4, 4)),
    "unsqueeze": (lambda: Inverse(Squeeze()), (4, 2, 2)),
    "logit": (lambda: Logit(17.0, alpha=0.01), (5,)),
    "spline-elementwise": (lambda: ElementwiseSpline((4,), n_bins=5, bound=2.0), (4,)),
    "affine-checkerboard": (lambda: _image_coupling("affine", checkerboard_mask((1, 4, 4))),
                            (1, 4, 4)),
    "affine-channel": (lambda: _image_coupling("affine", channel_mask((4, 2, 2), 1)), (4, 2, 2)),
    "affine-vector": (lambda: AffineCoupling(checkerboard_mask((3,), 1),
                                             make_conditioner((3,), 2, hidden=8)), (3,)),
    "spline-vector": (lambda: SplineCoupling(checkerboard_mask((4,)),
                                             make_conditioner((4,), 23, hidden=8)), (4,)),
    "spline-image": (lambda: _image_coupling("spline", checkerboard_mask((1, 4, 4), 1)),
                     (1, 4, 4)),
    "factor-out": (lambda: FactorOut(Chain([ActNorm(3), InvertibleLinear(3, seed=2)]), 1),
                   (4, 2, 2)),
    "realnvp-vector": (lambda: RealNVP((4,), n_layers=3, hidden=8).transform, (4,)),
    "realnvp-image-logit": (lambda: RealNVP((1, 4, 4), n_layers=1, n_scales=2, hidden=4,
                                      n_blocks=1, logit_bound=17.0).transform, (1, 4, 4)),
    "glow": (lambda: Glow((1, 4, 4), n_scales=2, n_steps=2, hidden=4, seed=0).transform,
             (1, 4, 4)),
    "spline-flow": (lambda: SplineFlow(2, n_layers=2, hidden=8).transform, (2,)),
    "maf-layer": (lambda: MaskedAutoregressive(4, hidden_sizes=(12, 12),
                                               order=torch.tensor([2, 0, 3, 1])), (4,)),
    "iaf-layer": (lambda: Inverse(MaskedAutoregressive(3, hidden_sizes=(8,))), (3,)),
    "maf": (lambda: MAF(4, n_layers=3, hidden_sizes=(16,)).transform, (4,)),
}


def _inputs(name: str, shape: tuple[int, ...], n: int = 3) -> Tensor:
    g = torch.Generator().manual_seed(3)
    if "logit" in name:  # data in the box [0, 17)
        return 17 * torch.rand(n, *shape, generator=g, dtype=F64)
    return 1.5 * torch.randn(n, *shape, generator=g, dtype=F64)


@pytest.fixture(params=sorted(TRANSFORMS))
def transform_case(request: pytest.FixtureRequest) -> tuple[str, Transform, Tensor]:
    torch.manual_seed(0)
    build, shape = TRANSFORMS[request.param]
    transform = build().double()
    x = _inputs(request.param, shape)
    transform(_inputs(request.param, shape, n=16))  # data-dependent initialisation (ActNorm)
    return request.param, _perturbed(transform), x


def test_inverse_and_log_det_match_autograd(transform_case: tuple[str, Transform, Tensor]) -> None:
    _, transform, x = transform_case
    assert assert_invertible(transform, x, atol=1e-9) < 1e-8


def test_inverse_log_det_is_minus_forward(transform_case: tuple[str, Transform, Tensor]) -> None:
    _, transform, x = transform_case
    with torch.no_grad():
        z, log_det = transform(x)
        x_back, inverse_log_det = transform.inverse_and_log_det(z)
    torch.testing.assert_close(x_back, x, atol=1e-9, rtol=0)
    torch.testing.assert_close(inverse_log_det, -log_det, atol=1e-9, rtol=0)


def test_output_shape_is_declared(transform_case: tuple[str, Transform, Tensor]) -> None:
    _, transform, x = transform_case
    with torch.no_grad():
        z = transform(x)[0]
    assert tuple(z.shape[1:]) == transform.output_shape(x.shape[1:])
    assert transform.input_shape(z.shape[1:]) == tuple(x.shape[1:])


@pytest.mark.parametrize("kind", ["affine", "spline"])
@pytest.mark.parametrize("mask", [checkerboard_mask((1, 4, 4), 0), channel_mask((2, 2, 2), 1)])
def test_coupling_jacobian_is_triangular(kind: str, mask: Tensor) -> None:
    torch.manual_seed(0)
    coupling = _perturbed(_image_coupling(kind, mask))
    x = torch.randn(1, *mask.shape, dtype=F64)
    jac = torch.autograd.functional.jacobian(
        lambda v: coupling(v.reshape(1, *mask.shape))[0].reshape(-1), x.reshape(-1))
    fixed = mask.reshape(-1).bool()
    # the fixed half is copied: identity block, and no dependence on the changed half
    torch.testing.assert_close(jac[fixed][:, fixed], torch.eye(int(fixed.sum()), dtype=F64))
    assert jac[fixed][:, ~fixed].abs().max() == 0
    # each changed variable depends on itself and the fixed half only: a diagonal block
    block = jac[~fixed][:, ~fixed]
    assert (block - torch.diag(torch.diagonal(block))).abs().max() == 0
    assert bool((torch.diagonal(block) > 0).all())  # monotone, so orientation-preserving


def test_maf_jacobian_is_triangular_in_its_order() -> None:
    order = torch.tensor([2, 0, 3, 1])
    layer = _perturbed(MaskedAutoregressive(4, hidden_sizes=(12, 12), order=order))
    jac = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0][0],
                                             torch.randn(4, dtype=F64))
    ranked = jac[order][:, order]  # rows and columns in the autoregressive order
    assert torch.triu(ranked, 1).abs().max() == 0  # z_d depends on x_<d and x_d only
    assert torch.tril(ranked, -1).abs().max() > 0  # ... and does depend on x_<d
    assert bool((torch.diagonal(jac) > 0).all())  # dz_d/dx_d = exp(-a_d)


def test_actnorm_initialises_from_the_first_batch() -> None:
    x = 3 + 2 * torch.randn(256, 3, 4, 4, dtype=F64)
    layer = ActNorm(3).double()
    z, _ = layer(x)
    flat = z.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(flat.mean(1), torch.zeros(3, dtype=F64), atol=1e-9, rtol=0)
    torch.testing.assert_close(flat.std(1, unbiased=False), torch.ones(3, dtype=F64),
                               atol=1e-5, rtol=0)
    before = layer.bias.clone()
    layer(x + 10)  # initialised once only
    torch.testing.assert_close(layer.bias, before)


def test_invertible_linear_starts_as_a_rotation_and_log_det_is_slogdet() -> None:
    layer = InvertibleLinear(5, seed=0).double()
    w = layer.weight()
    torch.testing.assert_close(w @ w.T, torch.eye(5, dtype=F64), atol=1e-6, rtol=0)
    _perturbed(layer)
    _, log_det = layer(torch.randn(2, 5, 3, 3, dtype=F64))
    torch.testing.assert_close(log_det[0], 9 * torch.linalg.slogdet(layer.weight())[1])


def test_spline_is_identity_outside_its_interval_and_continuous_at_the_ends() -> None:
    params = torch.randn(4, 3 * 6 - 1, dtype=F64)
    x = torch.tensor([-5.0, -2.0 - 1e-9, 2.0 + 1e-9, 7.0], dtype=F64)
    y, log_det = rational_quadratic_spline(x, params, bound=2.0)
    torch.testing.assert_close(y, x, atol=1e-7, rtol=0)
    torch.testing.assert_close(log_det, torch.zeros(4, dtype=F64), atol=1e-6, rtol=0)


def _toy_flow(kind: str) -> Flow:
    torch.manual_seed(0)
    flow = (SplineFlow(2, n_layers=3, hidden=16) if kind == "spline"
            else RealNVP((2,), n_layers=4, hidden=16))
    return _perturbed(flow, scale=0.2)


@pytest.mark.parametrize("kind", ["spline", "realnvp"])
def test_two_dimensional_flow_integrates_to_one(kind: str) -> None:
    flow = _toy_flow(kind)
    flow.transform(torch.randn(64, 2, dtype=F64))
    total = assert_density_normalized(flow.log_prob, ((-9, 9), (-9, 9)), rtol=0.01)
    assert abs(total - 1) < 0.01


@pytest.mark.slow
def test_trained_toy_flow_samples_match_its_density(seed: int) -> None:
    data = two_moons(2000, seed=0).double()
    flow = SplineFlow(2, n_layers=4, hidden=32).double()
    with torch.no_grad():
        before = float(-flow.log_prob(data).mean())
    fit(flow, data, epochs=15, lr=5e-3, batch_size=128, progress=False, seed=0)
    with torch.no_grad():
        after = float(-flow.log_prob(data).mean())
    assert after < before - 0.5  # it learned something: the check is on a non-trivial flow
    torch.manual_seed(1)
    p_value = assert_density_samples_match(flow.sample, flow.log_prob, ((-1.5, 2.5), (-1, 1.5)),
                                           bins=10, n_samples=20000)
    assert p_value > 1e-3


def test_density_checks_reject_wrong_answers() -> None:
    def gaussian(points: Tensor) -> Tensor:
        return -0.5 * (points**2).sum(1) - math.log(2 * math.pi)

    with pytest.raises(AssertionError, match="integrates to"):
        assert_density_normalized(lambda p: gaussian(p) + 0.1, ((-8, 8), (-8, 8)))
    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="samples do not follow"):
        assert_density_samples_match(lambda n: 1.2 * torch.randn(n, 2), gaussian,
                                     ((-4, 4), (-4, 4)))
    probs = cell_probabilities(gaussian, ((-8, 8), (-8, 8)), bins=4)
    assert probs.shape == (4, 4) and abs(probs.sum() - 1) < 1e-6


# ---------------------------------------------------------------- dequantisation


def _dequantized(variational: bool, n_levels: int = 3) -> DequantizedFlow:
    torch.manual_seed(0)
    flow = Flow([Logit(n_levels, alpha=0.01), *_toy_flow("spline").transform], (2,))
    deq = VariationalDequantizer((2,), n_levels, hidden=8, n_layers=2) if variational else None
    model = DequantizedFlow(flow, n_levels, dequantizer=deq).double()
    if variational:
        _perturbed(model.dequantizer, scale=0.3)
    return model


def _discrete_log_probs(model: DequantizedFlow, n_levels: int = 3) -> Tensor:
    """log P(x) = log ∫ p(x + u) du over each unit cell, for every x in the K x K grid."""
    probs = cell_probabilities(model.flow.log_prob, ((0, n_levels), (0, n_levels)),
                               bins=n_levels, resolution=200)
    return torch.as_tensor(probs, dtype=F64).log()


def test_dequantised_flow_is_a_normalised_discrete_model() -> None:
    # Logit(K) puts all of the flow's mass in [0, K)^2: the cells' masses sum to one
    log_p = _discrete_log_probs(_dequantized(False))
    assert abs(float(log_p.exp().sum()) - 1) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("variational", [False, True])
def test_dequantisation_bounds_stay_below_the_discrete_likelihood(variational: bool) -> None:
    model = _dequantized(variational)
    grid = torch.cartesian_prod(torch.arange(3.0), torch.arange(3.0)).double()
    log_p = _discrete_log_probs(model)[grid[:, 0].long(), grid[:, 1].long()]
    means = assert_bounds_below(model, grid, log_p, ks=(1, 8, 64), n_repeats=32, atol=1e-2)
    assert means[-1] > means[0]  # the importance-weighted bound is tighter than the ELBO


def test_variational_dequantizer_density_is_normalised_and_consistent() -> None:
    model = _dequantized(True)
    deq = model.dequantizer
    x = torch.tensor([[0.0, 2.0]], dtype=F64)
    with torch.no_grad():
        u, log_q = deq(x.expand(5, 2))
        torch.testing.assert_close(deq.log_prob(u, x.expand(5, 2)), log_q)
        assert bool(((u > 0) & (u < 1)).all())
        total = cell_probabilities(lambda v: deq.log_prob(v, x.expand(len(v), 2)),
                                   ((1e-6, 1 - 1e-6), (1e-6, 1 - 1e-6)), bins=20).sum()
    assert abs(total - 1) < 0.01


def test_variational_dequantisation_trains_and_samples_the_grid() -> None:
    model = _dequantized(True)
    data = torch.randint(0, 3, (256, 2)).double()
    history = fit(model, data, epochs=3, lr=1e-3, batch_size=64, progress=False, seed=0)
    assert math.isfinite(history.train_loss[-1])
    samples = model.sample(200)
    assert samples.shape == (200, 2)
    assert bool(((samples >= 0) & (samples <= 2) & (samples == samples.round())).all())


# ---------------------------------------------------------------- models, shapes, devices


@pytest.mark.parametrize("build", [
    lambda: RealNVP((1, 8, 8), n_layers=1, n_scales=2, hidden=4, n_blocks=1, logit_bound=17),
    lambda: Glow((1, 8, 8), n_scales=2, n_steps=1, hidden=4, logit_bound=17, seed=0),
])
def test_image_flows_on_each_device(build: object, device: torch.device) -> None:
    torch.manual_seed(0)
    model = DequantizedFlow(build(), 17).to(device)  # type: ignore[operator]
    x = torch.randint(0, 17, (6, 1, 8, 8), device=device).float()
    model.initialize(x)
    assert model.elbo(x).shape == (6,)
    assert model.iwae_bound(x, 3).device.type == device.type
    samples = model.sample(4)
    assert samples.shape == (4, 1, 8, 8) and samples.device.type == device.type
    z = model.flow.encode(x + 0.5)
    torch.testing.assert_close(model.flow.decode(z), x + 0.5, atol=1e-3, rtol=0)
    assert model.flow.sample(2, temperature=0.5).shape == (2, 1, 8, 8)


def test_flow_loss_is_the_negative_log_likelihood() -> None:
    flow = _toy_flow("realnvp")
    x = torch.randn(7, 2, dtype=F64)
    torch.testing.assert_close(flow.loss(x), -flow.log_prob(x))
    assert flow.latent_shape == (2,)


def test_flow_errors() -> None:
    flow = _toy_flow("spline")
    with pytest.raises(ValueError, match="finite|NaN"):
        flow.log_prob(torch.tensor([[float("nan"), 0.0]], dtype=F64))
    with pytest.raises(ValueError, match="shape"):
        flow.log_prob(torch.zeros(3, 5, dtype=F64))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        flow.decode(torch.zeros(3, 4, dtype=F64))
    with pytest.raises(TypeError, match="Transform"):
        Chain([nn.Linear(2, 2)])  # type: ignore[list-item]
    model = DequantizedFlow(Flow([Logit(3)], (2,)), 3)
    with pytest.raises(NotImplementedError, match="unit cube"):
        model.log_prob(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="integer levels"):
        model.elbo(torch.full((2, 2), 0.5))


def test_transform_errors() -> None:
    with pytest.raises(ValueError, match="even H and W"):
        Squeeze()(torch.zeros(2, 1, 3, 4))
    with pytest.raises(ValueError, match=r"\(B, 3, \.\.\.\) with 3 channels"):
        ActNorm(3)(torch.zeros(4, 2, 2, 2))
    with pytest.raises(ValueError, match="at least 2 examples"):
        ActNorm(3)(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="0s and 1s"):
        AffineCoupling(torch.ones(4), make_conditioner((4,), 2))
    bad = AffineCoupling(checkerboard_mask((4,)), nn.Linear(4, 4))
    with pytest.raises(ValueError, match=r"conditioner returned shape \(2, 4\); expected"):
        bad(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(B, 4\)"):
        AffineCoupling(checkerboard_mask((4,)), make_conditioner((4,), 2))(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="C even"):
        channel_mask((3, 2, 2))
    with pytest.raises(ValueError, match="must keep the shape"):
        FactorOut(Squeeze(), 2)(torch.zeros(1, 4, 4, 4))
    with pytest.raises(ValueError, match="more than n_out=4"):
        FactorOut(ActNorm(1), 4)(torch.zeros(2, 4, 2, 2))
    with pytest.raises(ValueError, match=r"expects inputs in \[0, 17\]; got values from -1"):
        Logit(17)(torch.tensor([[-1.0, 3.0]]))
    with pytest.raises(ValueError, match="alpha must be in"):
        Logit(17, alpha=0.7)
    with pytest.raises(ValueError, match="params must have shape"):
        rational_quadratic_spline(torch.zeros(3), torch.zeros(3, 6))
    with pytest.raises(ValueError, match="Glow needs an image"):
        Glow((64,))
    with pytest.raises(ValueError, match="multiples of 8"):
        RealNVP((1, 12, 12), n_scales=3)
    with pytest.raises(ValueError, match=r"event_shape must be \(D,\) or \(C, H, W\)"):
        RealNVP((8, 8))
    with pytest.raises(ValueError, match="dim >= 2"):
        SplineFlow(1)
    with pytest.raises(ValueError, match=r"ElementwiseSpline expects inputs of shape \(B, 4\)"):
        ElementwiseSpline((4,))(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="n_levels"):
        VariationalDequantizer((2,), 1)
    with pytest.raises(ValueError, match=r"order must be a permutation of 0..2"):
        MaskedAutoregressive(3, order=torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match=r"expects vectors \(B, 3\)"):
        MaskedAutoregressive(3)(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="n_levels"):
        DequantizedFlow(Flow([Logit(3)], (2,)), 1)
