"""The API contract every gmlib model follows (conventions, section 3).

Three interfaces, one per way a model relates to its likelihood:

* `DensityModel`: exact `log_prob(x, c=None)` (Bayesian networks, mixtures, PPCA,
  autoregressive models, flows); `loss(x, c=None) = -log_prob(x, c)`.
* `LatentVariableModel`: only bounds on the likelihood, `elbo(x, c=None)` and
  `iwae_bound(x, k, c=None)` (the VAE family); `loss = -elbo`; `log_prob` refuses with the
  reason.
* `ImplicitModel`: a sampler without a density (GANs); `log_prob` refuses with the reason.

Every model samples with `sample(n, c=None, *, generator=None, **options)`, where `options`
are the model's documented sampler settings (`steps=`, `temperature=`, ...); an option the
model does not have is a TypeError that lists the ones it has. `c` is a condition (class
labels or a context); an unconditional model refuses one with `ConditionError`, through
`GenerativeModel.check_condition`, the one place that rule lives.

All log-likelihoods are in nats, one value per example. The public methods validate their
input with `validate_input`, which applies the input rule (docs: "The input rule" in the
README's gmlib section, and `gmlib.validation.as_batch`), and then call the underscored
method a subclass implements, so the checks live in one place and every model fails the
same clear way. Sampling always runs under `torch.no_grad()`.
"""

from __future__ import annotations

import inspect
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gmlib.config import record_config
from gmlib.exceptions import ConditionError
from gmlib.utils import parameter_dtype
from gmlib.validation import (
    Support,
    as_batch,
    check_event_shape,
    check_generator,
    check_positive_int,
    check_sample_count,
    check_support,
)

__all__ = [
    "DensityModel",
    "GenerativeModel",
    "ImplicitModel",
    "LatentVariableModel",
    "Support",
    "check_condition",
]

Condition = Tensor | int | None


def check_condition(model: object, c: object, *, conditional: bool) -> None:
    """The one rule for conditions: an unconditional model given `c` raises ConditionError
    naming the model (`GenerativeModel.check_condition` and the plain modules use it)."""
    if c is not None and not conditional:
        raise ConditionError(
            f"{type(model).__name__} is unconditional, so it cannot use the condition c "
            f"(got {type(c).__name__}); build a class-conditional model (n_classes=...) "
            "to use labels, or leave c out")


def check_options(model: nn.Module, method: Callable[..., Any], options: dict[str, Any],
                  public: str) -> dict[str, Any]:
    """Raise TypeError naming the options `method` accepts if `options` has another one.

    Returns:
        `options`, with `generator` dropped when it is None and `method` (a subclass written
        before the contract asked for it) does not take one.
    """
    params = inspect.signature(method).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    if "generator" in options and "generator" not in params:
        if options["generator"] is not None:
            raise TypeError(f"{type(model).__name__}._sample takes no generator; add a "
                            "keyword argument `generator` and draw from it")
        options = {k: v for k, v in options.items() if k != "generator"}
    known = [name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
             and name != "generator"]
    unknown = sorted(set(options) - {*known, "generator"})
    if unknown:
        has = ", ".join(known) if known else "none"
        raise TypeError(f"{type(model).__name__}.{public}() got unknown option(s) "
                        f"{', '.join(map(repr, unknown))}; its options are: {has}")
    return options


class GenerativeModel(nn.Module, ABC):
    """Shared behaviour: the event shape and support of an observation, and `sample(n)`.

    Args:
        event_shape: the shape of one observation, e.g. `(64,)` or `(1, 8, 8)`; None while an
            estimator has not seen data yet (then shape checks start after `fit`).
        support: the values an observation takes (real, binary, or K integer levels).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every model records its constructor's arguments in `init_config` (`gmlib.config`)."""
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = record_config(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self, event_shape: Sequence[int] | None, support: Support) -> None:
        super().__init__()
        self.event_shape: tuple[int, ...] | None = (
            None if event_shape is None else tuple(int(s) for s in event_shape)
        )
        self.support = support

    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter or buffer (CPU for a model with none)."""
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    moves_inputs = False  # True: a subclass moves inputs to its device instead of refusing

    @property
    def input_dtype(self) -> torch.dtype:
        """The floating dtype inputs are cast to: that of the model's parameters."""
        return parameter_dtype(self)

    @property
    def is_conditional(self) -> bool:
        """Whether the model takes a condition `c` (class-conditional models override it)."""
        return False

    def check_condition(self, c: object) -> None:
        """Refuse a condition given to an unconditional model (the one place of that rule).

        Raises:
            ConditionError: `c` is not None but the model is unconditional.
        """
        check_condition(self, c, conditional=self.is_conditional)

    def validate_input(self, x: Tensor, name: str = "x") -> Tensor:
        """Apply the input rule (`gmlib.validation.as_batch`), then check the event shape and
        the support.

        Returns:
            `x` as a contiguous tensor in the model's floating dtype, shape (B, *event_shape).
        """
        x = as_batch(x, self.input_dtype, name)
        if self.event_shape is not None:
            check_event_shape(x, self.event_shape, name)
        state = next(itertools.chain(self.parameters(), self.buffers()), None)
        if state is not None and x.device != state.device and not self.moves_inputs:
            raise ValueError(f"{name} is on {x.device} but {type(self).__name__} is on "
                             f"{state.device}; move one of them with .to(...)")
        return check_support(x, self.support, name)

    def _empty_result(self, x: Tensor) -> Tensor:
        """The result of a per-example score on an empty batch: shape (0,)."""
        return x.new_zeros(0, dtype=self.input_dtype)

    def sample(self, n: int, c: Condition = None, *, generator: torch.Generator | None = None,
               **options: Any) -> Tensor:
        """Draw `n` independent samples.

        Args:
            n: how many, 0 <= n <= `gmlib.validation.MAX_SAMPLES`; 0 gives an empty batch.
            c: the condition of a conditional model (one label for all, or one per sample);
                an unconditional model refuses it.
            generator: the random stream of every draw, for reproducible samples.
            options: the model's own sampler settings (see its `_sample`); another name is a
                TypeError listing them.

        Shapes:
            returns (n, *event_shape)
        """
        n = check_sample_count(n)
        self.check_condition(c)
        check_generator(generator)
        kwargs = check_options(self, self._sample, dict(options, generator=generator),
                               "sample")
        if c is not None:
            kwargs["c"] = c
        with torch.no_grad():
            if n == 0:  # one draw, cut to none: the right shape, dtype and device for free
                for key, value in kwargs.items():  # per-sample tensors (labels, codes) of 0
                    if isinstance(value, Tensor) and value.dim() > 0 and len(value) == 0:
                        kwargs[key] = value.new_zeros((1, *value.shape[1:]))
                return self._sample(1, **kwargs)[:0]
            return self._sample(n, **kwargs)

    @abstractmethod
    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Draw `n` samples from `generator`'s stream; called under no_grad with `n` checked
        (conditional models also take `c`)."""

    @abstractmethod
    def loss(self, x: Tensor, c: Condition = None) -> Tensor:
        """Per-example training loss, shape (B,); `train.fit` minimises its mean."""

    def _call_scored(self, method: Callable[..., Tensor], x: Tensor, c: Condition,
                     *args: Any) -> Tensor:
        """Validate `x` and `c`, then `method(x, *args[, c=c])`; an empty batch gives (0,)."""
        x = self.validate_input(x)
        self.check_condition(c)
        if len(x) == 0:
            return self._empty_result(x)
        return method(x, *args) if c is None else method(x, *args, c=c)


class DensityModel(GenerativeModel):
    """A model with an exact, normalised `log_prob`."""

    def log_prob(self, x: Tensor, c: Condition = None) -> Tensor:
        """Exact log-likelihood of each example in nats (of x given c for a conditional model).

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        return self._call_scored(self._log_prob, x, c)

    @abstractmethod
    def _log_prob(self, x: Tensor) -> Tensor:
        """log p(x) of a validated, non-empty batch, shape (B,) (conditional models also take
        `c`)."""

    def loss(self, x: Tensor, c: Condition = None) -> Tensor:
        """Negative log-likelihood per example (maximum likelihood training)."""
        return -self.log_prob(x, c)


class LatentVariableModel(GenerativeModel):
    """A model p(x) = ∫ p(x|z) p(z) dz whose likelihood is only bounded (Kingma & Welling 2014)."""

    def elbo(self, x: Tensor, c: Condition = None) -> Tensor:
        """Evidence lower bound, log p(x) >= E_q[log p(x, z) - log q(z|x)], per example.

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        return self._call_scored(self._elbo, x, c)

    def iwae_bound(self, x: Tensor, k: int, c: Condition = None) -> Tensor:
        """Importance-weighted bound with `k` samples (Burda et al. 2016); tighter as k grows.

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        check_positive_int(k, "k")
        return self._call_scored(self._iwae_bound, x, c, k)

    @abstractmethod
    def _elbo(self, x: Tensor) -> Tensor:
        """The ELBO of a validated, non-empty batch, shape (B,)."""

    @abstractmethod
    def _iwae_bound(self, x: Tensor, k: int) -> Tensor:
        """The k-sample importance-weighted bound of a validated, non-empty batch, shape (B,)."""

    def loss(self, x: Tensor, c: Condition = None) -> Tensor:
        """Negative ELBO per example."""
        return -self.elbo(x, c)

    def log_prob(self, x: Tensor, c: Condition = None) -> Tensor:
        """Refused: the marginal likelihood of a latent-variable model is intractable."""
        raise NotImplementedError(
            f"{type(self).__name__} has no tractable log_prob: log p(x) = log ∫ p(x|z) p(z) dz "
            "has no closed form. Use elbo(x) for a lower bound, or iwae_bound(x, k) for a "
            "tighter one as k grows."
        )


class ImplicitModel(GenerativeModel):
    """A sampler x = G(z) that defines no density (GANs, Goodfellow et al. 2014)."""

    def log_prob(self, x: Tensor, c: Condition = None) -> Tensor:
        """Refused: an implicit model only samples."""
        raise NotImplementedError(
            f"{type(self).__name__} is an implicit model: it maps noise to samples and defines "
            "no density, so it cannot score data, compress it or flag outliers. Compare its "
            "samples instead (gmlib.metrics)."
        )
