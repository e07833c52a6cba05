"""Exceptions and warnings that gmlib raises on purpose."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before `fit` was called.

    It derives from both `ValueError` and `AttributeError`, as scikit-learn's does, so code
    written against scikit-learn's estimators catches it unchanged.
    """


class ConvergenceWarning(UserWarning):
    """Warned when an iterative fit (EM, variational Bayes) stops before it converged."""
