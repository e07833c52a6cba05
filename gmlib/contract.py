"""The API contract as executable checks: every gmlib model runs the same battery.

In the spirit of scikit-learn's `check_estimator`, `CHECKS` holds one function per promise
of the contract (`gmlib.base`, and the input rule of `gmlib.validation.as_batch`):

* scores (log_prob, elbo or loss) have shape (B,) for every batch, including B = 0 and 1;
* bool, integer, float16 and float64 inputs, numpy arrays, lists, non-contiguous and
  `requires_grad` tensors are the same data as a float32 tensor;
* NaN, infinities, values outside the support and wrong shapes are ValueErrors that say so;
* `sample(n)` gives (n, *event_shape) values in the support, `sample(0)` an empty batch, bad
  n a ValueError, an unknown option a TypeError listing the options, and a generator makes
  it reproducible without touching the global random stream;
* an unconditional model refuses a condition (`ConditionError`) in scoring, sampling and
  `gmlib.train.fit`.

A model joins by being registered (`register_case`): `gmlib.contract.CASES` holds a small
instance of every model class gmlib exports, and `tests/test_contract.py` adds every bench
entry's model. Each check raises AssertionError with what broke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from gmlib.base import DensityModel, GenerativeModel, ImplicitModel, LatentVariableModel
from gmlib.exceptions import ConditionError
from gmlib.validation import MAX_SAMPLES

__all__ = ["CASES", "CHECKS", "ContractCase", "register_case", "run_check"]


@dataclass
class ContractCase:
    """A model to check and data it accepts.

    Attributes:
        name: the case's name in test ids.
        build: `() -> model`, ready to score and sample (fitted, if it is an estimator).
        data: `(n) -> x`, n valid examples (B, *event_shape) as float32.
        condition: `(n) -> c` for a conditional model; None for an unconditional one.
        sample_options: options that keep `sample` quick (e.g. `{"steps": 2}`).
        score_with: the method to score with, where the default (`scorer`) is too slow for
            a test (a diffusion model's 1000-step ELBO: its `loss` checks the same input).
        deterministic: whether each example's score depends on that example alone, not on
            the random draws of the batch (False for Monte Carlo bounds and losses).
    """

    name: str
    build: Callable[[], nn.Module]
    data: Callable[[int], Tensor]
    condition: Callable[[int], Tensor] | None = None
    sample_options: dict[str, Any] = field(default_factory=dict)
    deterministic: bool = True
    score_with: str | None = None


CASES: dict[str, ContractCase] = {}


def register_case(case: ContractCase) -> ContractCase:
    """Add a case to `CASES` (a new model gets the whole battery this way)."""
    if case.name in CASES:
        raise ValueError(f"a contract case named {case.name!r} is already registered")
    CASES[case.name] = case
    return case


# ------------------------------------------------------------------ how to call a model

def scorer(model: nn.Module) -> Callable[..., Tensor] | None:
    """The per-example score a model has: log_prob, else elbo, else loss (None for GANs)."""
    if isinstance(model, DensityModel):
        return model.log_prob
    if isinstance(model, LatentVariableModel) or callable(getattr(model, "elbo", None)):
        return model.elbo
    if isinstance(model, ImplicitModel):
        return None
    return model.loss


def _score(model: nn.Module, case: ContractCase, x: object, c: object = None) -> Tensor:
    """The score of x, with the global stream seeded so Monte Carlo scores repeat."""
    fn = scorer(model) if case.score_with is None else getattr(model, case.score_with)
    assert fn is not None
    n = len(x) if hasattr(x, "__len__") else 0
    if c is None and case.condition is not None:
        c = case.condition(n)
    torch.manual_seed(0)
    return fn(x) if c is None else fn(x, c)


def _close(a: Tensor, b: Tensor, case: ContractCase, what: str, rtol: float = 1e-4) -> None:
    """Scores of the same batch agree (Monte Carlo ones too: `_score` seeds their draws)."""
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert torch.allclose(a.double(), b.double(), rtol=rtol, atol=1e-4), (
        f"{what}: scores differ from the float32 tensor's (max gap "
        f"{float((a.double() - b.double()).abs().max().detach()):.3g})")


def _raises(kind: type[BaseException], match: str | tuple[str, ...], fn: Callable[[], object],
            what: str) -> None:
    """`fn()` raises `kind` with a message holding `match` (or one of several phrasings)."""
    phrasings = (match,) if isinstance(match, str) else match
    try:
        fn()
    except kind as err:
        assert any(p.lower() in str(err).lower() for p in phrasings), (
            f"{what}: {type(err).__name__} says {str(err)!r}, which does not mention "
            f"{match!r}")
        return
    except Exception as err:  # the wrong exception is a failure of the contract too
        raise AssertionError(f"{what}: expected {kind.__name__} mentioning {match!r}, got "
                             f"{type(err).__name__}: {err}") from err
    raise AssertionError(f"{what}: expected {kind.__name__}, nothing was raised")


def _model(case: ContractCase) -> nn.Module:
    model = case.build()
    return model.eval()


# ------------------------------------------------------------------ the checks

def check_score_shapes(case: ContractCase) -> None:
    model = _model(case)
    if scorer(model) is None:
        return
    for n in (5, 1, 0):
        out = _score(model, case, case.data(n))
        assert out.shape == (n,), f"a batch of {n} scores to shape {tuple(out.shape)}"
        assert out.is_floating_point(), f"scores have dtype {out.dtype}"
        assert bool(torch.isfinite(out).all()), f"a batch of {n} has non-finite scores"


def _reference(case: ContractCase, n: int) -> tuple[nn.Module, Tensor, Tensor] | None:
    """A fresh model, n examples and their float32 scores; None for a model with no score."""
    model = _model(case)
    if scorer(model) is None:
        return None
    x = case.data(n)
    return model, x, _score(model, case, x)


def check_input_dtypes(case: ContractCase) -> None:
    found = _reference(case, 4)
    if found is None:
        return
    model, x, reference = found
    is_integral = bool((x == x.round()).all())
    kinds: list[torch.dtype] = [torch.float64]
    if is_integral:
        kinds += [torch.int64, torch.int32, torch.float16]
        if bool(((x == 0) | (x == 1)).all()):
            kinds.append(torch.bool)
    for dtype in kinds:
        _close(_score(model, case, x.to(dtype)), reference, case, f"{dtype} input")


def check_array_like_inputs(case: ContractCase) -> None:
    found = _reference(case, 3)
    if found is None:
        return
    model, x, reference = found
    _close(_score(model, case, x.numpy()), reference, case, "a numpy array")
    _close(_score(model, case, x.double().numpy()), reference, case, "a float64 numpy array")
    _close(_score(model, case, x.tolist()), reference, case, "a nested list")
    _raises(TypeError, "torch.Tensor", lambda: _score(model, case, "not data"), "a string")


def check_layout_and_grad(case: ContractCase) -> None:
    found = _reference(case, 3)
    if found is None:
        return
    model, x, reference = found
    strided = torch.stack([x, x], -1)[..., 0]  # the same values, not contiguous
    assert not strided.is_contiguous() or strided.dim() == 1
    _close(_score(model, case, strided), reference, case, "a non-contiguous input")
    leaf = x.clone().requires_grad_(True)
    out = _score(model, case, leaf)
    assert out.shape == (3,), f"a requires_grad input scores to shape {tuple(out.shape)}"


def check_bad_values(case: ContractCase) -> None:
    model = _model(case)
    if scorer(model) is None:
        validate: Callable[[Tensor], object] = model.validate_input
    else:
        def validate(x: Tensor) -> object:
            return _score(model, case, x)
    for bad in (float("nan"), float("inf")):
        x = case.data(3)
        x.view(-1)[1] = bad
        _raises(ValueError, "finite", lambda x=x: validate(x), f"an input holding {bad}")
    support = model.support
    if support.kind != "real":
        for bad, what in ((0.5, "a fraction"), (float(support.n_levels), "level K"),
                          (-1.0, "a negative value")):
            x = case.data(3)
            x.view(-1)[0] = bad
            _raises(ValueError, ("must hold", "takes values"), lambda x=x: validate(x),
                    f"{what} in the input")


def check_bad_shapes(case: ContractCase) -> None:
    model = _model(case)
    x = case.data(3)
    check: Callable[[Tensor], object] = (
        model.validate_input if scorer(model) is None else lambda v: _score(model, case, v))
    _raises(ValueError, "must have shape", lambda: check(x[0]), "one example without a batch")
    wrong = torch.cat([x.flatten(1), x.flatten(1)[:, :1]], 1)
    _raises(ValueError, "must have shape", lambda: check(wrong), "one value too many")


def check_samples(case: ContractCase) -> None:
    model = _model(case)
    c = None if case.condition is None else case.condition(3)
    out = model.sample(3, c, **case.sample_options)
    assert out.shape == (3, *model.event_shape), f"sample(3) has shape {tuple(out.shape)}"
    model.validate_input(out, "a sample")  # in the support, finite
    c0 = None if case.condition is None else case.condition(0)
    empty = model.sample(0, c0, **case.sample_options)
    assert empty.shape == (0, *model.event_shape), f"sample(0) has shape {tuple(empty.shape)}"


def check_sample_arguments(case: ContractCase) -> None:
    model = _model(case)
    for bad in (-1, 2.5, True, MAX_SAMPLES + 1):
        _raises(ValueError, "n", lambda bad=bad: model.sample(bad), f"sample({bad!r})")
    _raises(TypeError, "option", lambda: model.sample(2, not_an_option=1),
            "an unknown sampler option")
    _raises(TypeError, "generator", lambda: model.sample(2, generator=0), "a seed as generator")


def check_generator(case: ContractCase) -> None:
    model = _model(case)
    c = None if case.condition is None else case.condition(3)

    def draw() -> Tensor:
        return model.sample(3, c, generator=torch.Generator().manual_seed(7),
                            **case.sample_options)

    state = torch.get_rng_state()
    first = draw()
    assert torch.equal(state, torch.get_rng_state()), (
        "sampling with a generator moved the global random stream")
    assert torch.equal(first, draw()), "two draws from equal generators differ"


def check_condition_refused(case: ContractCase) -> None:
    if case.condition is not None:
        return
    model = _model(case)
    assert isinstance(model, GenerativeModel)
    assert not model.is_conditional
    x, labels = case.data(4), torch.zeros(4, dtype=torch.long)
    if scorer(model) is not None:
        _raises(ConditionError, "unconditional", lambda: scorer(model)(x, labels),
                "scoring with a condition")
    _raises(ConditionError, "unconditional", lambda: model.sample(4, labels),
            "sampling with a condition")
    if any(p.requires_grad for p in model.parameters()) and not isinstance(model,
                                                                           ImplicitModel):
        from gmlib.train import fit

        before = [p.detach().clone() for p in model.parameters()]
        _raises(ConditionError, "unconditional",
                lambda: fit(model, (x, labels), epochs=1, batch_size=4, progress=False),
                "fit on (x, labels) pairs")
        after = list(model.parameters())
        assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True)), (
            "fit refused the labels only after it had trained")


CHECKS: dict[str, Callable[[ContractCase], None]] = {
    "score_shapes": check_score_shapes,
    "input_dtypes": check_input_dtypes,
    "array_like_inputs": check_array_like_inputs,
    "layout_and_grad": check_layout_and_grad,
    "bad_values": check_bad_values,
    "bad_shapes": check_bad_shapes,
    "samples": check_samples,
    "sample_arguments": check_sample_arguments,
    "generator": check_generator,
    "condition_refused": check_condition_refused,
}


def run_check(case: ContractCase, check: str) -> None:
    """Run one named check of `CHECKS` on a case (raises AssertionError when it fails).

    Examples:
        >>> for check in CHECKS:  # the whole battery on one registered model
        ...     run_check(CASES["NADE"], check)
    """
    CHECKS[check](case)


# ------------------------------------------------------------------ the registered models

def _levels(shape: tuple[int, ...], n_levels: int) -> Callable[[int], Tensor]:
    def data(n: int) -> Tensor:
        gen = torch.Generator().manual_seed(n)
        return torch.randint(n_levels, (n, *shape), generator=gen).float()
    return data


def _real(dim: int) -> Callable[[int], Tensor]:
    def data(n: int) -> Tensor:
        gen = torch.Generator().manual_seed(n)
        return torch.randn(n, dim, generator=gen) @ torch.tensor(
            np.tril(np.ones((dim, dim))), dtype=torch.float32)
    return data


def _labels(n_classes: int) -> Callable[[int], Tensor]:
    return lambda n: torch.arange(n) % n_classes


def _register_defaults() -> None:
    # imports here: gmlib.contract is imported by tests, not by the models it checks
    from gmlib import autoregressive as ar
    from gmlib import flows, independent, linear, mixtures
    from gmlib.bayesnet import NaiveBayes, sprinkler_network
    from gmlib.planning import GaussianDynamics

    image, flat = (1, 4, 4), (6,)
    binary_image, binary_flat = _levels(image, 2), _levels(flat, 2)
    grey = _levels(image, 3)
    fits = {
        "GaussianMixture": (lambda: mixtures.GaussianMixture(2, random_state=0), _real(3)),
        "BayesianGaussianMixture": (
            lambda: mixtures.BayesianGaussianMixture(2, random_state=0), _real(3)),
        "BernoulliMixture": (lambda: mixtures.BernoulliMixture(2, random_state=0),
                             binary_flat),
        "PCA": (lambda: linear.PCA(1), _real(3)),
        "PPCA": (lambda: linear.PPCA(1), _real(3)),
        "FactorAnalysis": (lambda: linear.FactorAnalysis(1), _real(3)),
        "StudentTPPCA": (lambda: linear.StudentTPPCA(1), _real(3)),
        "IndependentBernoulli": (lambda: independent.IndependentBernoulli(image),
                                 binary_image),
        "IndependentCategorical": (lambda: independent.IndependentCategorical(image, 3), grey),
    }
    for name, (make, data) in fits.items():
        register_case(ContractCase(name, lambda make=make, data=data: make().fit(data(64)),
                                   data))
    register_case(ContractCase("UniformCategorical",
                               lambda: independent.UniformCategorical(image, 3), grey))
    def bayesnet_data(n: int) -> Tensor:  # its own samples: some random rows have p = 0
        return sprinkler_network().sample(n, generator=torch.Generator().manual_seed(n)).float()

    register_case(ContractCase("DiscreteBayesNet", sprinkler_network, bayesnet_data))
    register_case(ContractCase(
        "NaiveBayes", lambda: NaiveBayes(image, 3).fit(binary_image(60), _labels(3)(60)),
        binary_image, condition=_labels(3)))
    nets = {
        "FVSBN": (lambda: ar.FVSBN(flat), binary_flat),
        "NADE": (lambda: ar.NADE(flat, hidden=8), binary_flat),
        "MADE": (lambda: ar.MADE(flat, 3, hidden_sizes=(16,), n_masks=2), _levels(flat, 3)),
        "RNADE": (lambda: ar.RNADE(3, hidden=8, n_components=2), _real(3)),
        "CausalTransformer": (lambda: ar.CausalTransformer(flat, 3, width=16, n_layers=1,
                                                           n_heads=2), _levels(flat, 3)),
        "PixelCNN": (lambda: ar.PixelCNN(image, 3, channels=8, n_layers=2), grey),
        "RowLSTM": (lambda: ar.RowLSTM(image, 3, hidden=8, n_layers=1), grey),
        "SequenceLSTM": (lambda: ar.SequenceLSTM(flat, 3, hidden=8), _levels(flat, 3)),
        "WaveNet": (lambda: ar.WaveNet(flat, 3, channels=8), _levels(flat, 3)),
        "MAF": (lambda: flows.MAF(3, n_layers=2, hidden_sizes=(8,)), _real(3)),
        "SplineFlow": (lambda: flows.SplineFlow(3, n_layers=2, hidden=8, n_blocks=1),
                       _real(3)),
        "RealNVP": (lambda: flows.RealNVP((1, 4, 4), n_layers=2, n_scales=1, hidden=8,
                                          n_blocks=1), _real_image(image)),
        "Glow": (lambda: flows.Glow((1, 4, 4), n_scales=1, n_steps=2, hidden=8, seed=0),
                 _real_image(image)),
        "DequantizedFlow": (lambda: flows.DequantizedFlow(flows.RealNVP(
            (1, 4, 4), n_layers=2, n_scales=1, hidden=8, n_blocks=1), 3), grey),
    }
    stochastic = {"DequantizedFlow"}
    for name, (make, data) in nets.items():
        if hasattr(make(), "initialize"):  # data-dependent init (ActNorm) on a fixed batch
            make = _initialized(make, data)
        register_case(ContractCase(name, _seeded(make), data,
                                   deterministic=name not in stochastic))
    register_case(ContractCase(
        "ConditionalPixelCNN",
        _seeded(lambda: ar.ConditionalPixelCNN(image, 2, cond_channels=1, channels=8,
                                               n_layers=2)),
        binary_image, condition=lambda n: torch.ones(n, *image) * 0.5))
    register_case(ContractCase(
        "GaussianDynamics", _seeded(lambda: GaussianDynamics(2, 1, hidden=8)), _real(2),
        condition=lambda n: torch.linspace(-1, 1, 3 * n).reshape(n, 3)))
    from gmlib.ebm import EnergyModel
    from gmlib.gans import ProgressiveGAN
    from gmlib.vae import build_vae

    register_case(ContractCase(
        "ConditionalVAE", _seeded(lambda: build_vae(image, likelihood="bernoulli", hidden=(8,),
                                                    latent_dim=2, n_classes=3)),
        binary_image, condition=_labels(3), deterministic=False))
    register_case(ContractCase(
        "EnergyModel", _seeded(lambda: EnergyModel(
            nn.Sequential(nn.Linear(2, 8), nn.SiLU(), nn.Linear(8, 1)), (2,),
            init=lambda n: torch.rand(n, 2) * 4 - 2)),
        _real(2), sample_options={"n_steps": 2}, score_with="unnormalized_log_prob"))
    register_case(ContractCase("ProgressiveGAN", _seeded(lambda: ProgressiveGAN(4, width=4)),
                               _levels((1, 8, 8), 17)))


def _real_image(shape: tuple[int, ...]) -> Callable[[int], Tensor]:
    def data(n: int) -> Tensor:
        return torch.randn((n, *shape), generator=torch.Generator().manual_seed(n))
    return data


def _initialized(make: Callable[[], Any], data: Callable[[int], Tensor]
                 ) -> Callable[[], nn.Module]:
    return lambda: make().initialize(data(32))


def _seeded(make: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        torch.manual_seed(0)
        return make()
    return build


_register_defaults()
