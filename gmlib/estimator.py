"""Density estimators fitted in closed form or by EM, with scikit-learn's conventions.

Mixtures (lecture 03) and linear-Gaussian models (lecture 04) are `DensityModel`s that are
*fitted* rather than trained by gradient descent: `fit(x)` returns the estimator, fitted state
ends with an underscore (`means_`, `lower_bounds_`, ...), `score(x)` is the mean
log-likelihood and `score_samples(x) == log_prob(x)`. This module holds what they share: the
fitted-attribute guard (`NotFittedError` instead of an obscure `None`), the input checks of
`fit`, and the EM driver that records the lower bound and warns when it did not converge.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from gmlib.base import DensityModel
from gmlib.exceptions import ConvergenceWarning, NotFittedError
from gmlib.validation import Support, check_finite, check_int, check_tensor

__all__ = ["FittedEstimator", "check_tol", "generator", "run_em"]


class FittedEstimator(DensityModel):
    """A density estimator with `fit`, `score` and `score_samples`, working in `dtype`.

    Fitted tensors are buffers whose names end with `_`; they are None until `fit`, and
    reading one then raises `NotFittedError`. Inputs are converted to the estimator's dtype
    (float64 by default, so EM's monotonicity can be checked exactly) and moved to the device
    of its fitted tensors; `fit` follows the device of its data.
    """

    config_rebuildable = False  # the fitted state comes from fit, not from the constructor
    moves_inputs = True  # inputs follow the fitted tensors' device (not refused)

    def __init__(self, support: Support, dtype: torch.dtype) -> None:
        super().__init__(None, support)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype}")
        self.dtype = dtype

    def __getattr__(self, name: str) -> Any:
        try:
            value = super().__getattr__(name)
        except AttributeError:
            value = None
            if not (name.endswith("_") and not name.startswith("_")):
                raise
        if value is None and name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(f"{type(self).__name__} has no {name} yet: call fit(x) first")
        return value

    @property
    def input_dtype(self) -> torch.dtype:
        """Inputs are cast to the estimator's dtype (float64 by default)."""
        return self.dtype

    @property
    def is_fitted(self) -> bool:
        """Whether `fit` has run."""
        return self.event_shape is not None

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(x) "
                                 "with training data first")

    @property
    def device(self) -> torch.device:
        """The device of the fitted tensors (the CPU before `fit`)."""
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def validate_input(self, x: Tensor, name: str = "x") -> Tensor:
        """Check `x` against the fitted model, then convert it to the estimator's dtype/device."""
        self._check_fitted()
        return super().validate_input(x, name).to(device=self.device, dtype=self.dtype)

    def _fit_data(self, x: Tensor, min_samples: int = 1, what: str = "") -> Tensor:
        """Check the training data: (N, D) finite values in the support, N >= `min_samples`."""
        check_tensor(x, "x")
        if x.dim() != 2:
            raise ValueError(f"x must have shape (n_samples, n_features); got "
                             f"{tuple(x.shape)}; flatten images with x.flatten(1)")
        check_finite(x, "x")
        self.event_shape = None  # a refit may change the number of features
        x = super().validate_input(x, "x")
        if len(x) < min_samples:
            raise ValueError(f"x has n_samples={len(x)}, but at least {min_samples} are needed"
                             f"{what}")
        self.event_shape = (x.shape[1],)
        return x.to(self.dtype)

    def score_samples(self, x: Tensor) -> Tensor:
        """log p(x) of each example in nats, as `log_prob` (scikit-learn's name).

        Shapes:
            x: (B, D) -> returns (B,)
        """
        return self.log_prob(x)

    def score(self, x: Tensor) -> float:
        """Mean log-likelihood per example in nats (scikit-learn's `score`)."""
        return float(self.log_prob(x).mean())


def run_em(step: Callable[[], float], *, max_iter: int, tol: float,
           name: str) -> tuple[list[float], bool]:
    """Iterate one EM step until the bound changes by less than `tol`.

    Args:
        step: performs one E and M step and returns the bound it recorded.
        max_iter: the most iterations.
        tol: convergence threshold on the change of the bound (per example).
        name: the estimator, for the warning.

    Returns:
        The bound at every iteration and whether it converged; a `ConvergenceWarning` when
        `max_iter` was reached first.
    """
    check_int(max_iter, "max_iter", 1)
    bounds: list[float] = []
    previous = -math.inf
    for _ in range(max_iter):
        bounds.append(step())
        if abs(bounds[-1] - previous) < tol:
            return bounds, True
        previous = bounds[-1]
    warnings.warn(f"{name} did not converge in max_iter={max_iter} iterations (last change "
                  f"{bounds[-1] - (bounds[-2] if len(bounds) > 1 else -math.inf):.3g}, "
                  f"tol={tol:g}); increase max_iter or tol, or check the initialisation",
                  ConvergenceWarning, stacklevel=3)
    return bounds, False


def check_tol(tol: object) -> float:
    """`tol` must be a finite number >= 0."""
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not (
            math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")
    return float(tol)


def generator(random_state: int | None) -> torch.Generator:
    """A CPU generator: seeded with `random_state`, or from torch's global generator if None."""
    if random_state is None:
        return torch.Generator().manual_seed(int(torch.randint(2**62, ()).item()))
    check_int(random_state, "random_state", 0)
    return torch.Generator().manual_seed(random_state)
