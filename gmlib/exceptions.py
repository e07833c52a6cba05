"""Exceptions and warnings that gmlib raises on purpose."""

from __future__ import annotations

__all__ = ["ConditionError", "ConvergenceWarning", "IntegrityError", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before `fit` was called.

    It derives from both `ValueError` and `AttributeError`, as scikit-learn's does, so code
    written against scikit-learn's estimators catches it unchanged.
    """


class ConvergenceWarning(UserWarning):
    """Warned when an iterative fit (EM, variational Bayes) stops before it converged."""


class ConditionError(TypeError, ValueError):
    """Raised when a condition `c` is given to an unconditional model (or is missing where a
    model needs one). A TypeError (an argument the model does not take) and a ValueError (a
    value it cannot use), so code catching either sees it."""


class IntegrityError(ValueError):
    """Raised when a stream or checkpoint fails its checksum, or was written by another model
    or format version than the one reading it."""
