"""Naive Bayes: the Bayesian network y -> x_1, ..., x_D, a generative model of labelled data.

p(x, y) = p(y) prod_d p(x_d | y), with categorical (Bernoulli for K = 2) features. It is a
classifier through Bayes' rule, p(y | x) ∝ p(y) prod_d p(x_d | y), and, being a model of the
whole joint, it also scores images (p(x) = sum_y p(x, y)), samples images of a chosen class,
classifies with missing pixels and imputes them: "predict anything from anything".

References:
    Ng & Jordan, On discriminative vs. generative classifiers (NeurIPS 2001).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from gmlib.base import DensityModel
from gmlib.draws import categorical_draw
from gmlib.validation import (
    Support,
    check_event_shape,
    check_int,
    check_labels,
    check_nonnegative,
    check_positive_int,
    check_tensor,
)

__all__ = ["NaiveBayes"]


class NaiveBayes(DensityModel):
    """Naive Bayes with categorical features, fitted by (smoothed) counting.

    With `alpha` pseudo-counts on the features and `class_alpha` on the classes (0, the plain
    frequencies, as scikit-learn's `BernoulliNB` / `CategoricalNB` do), the fitted tables are
    p(x_d = k | y) = (N_{y,d,k} + alpha) / (N_y + K alpha) and p(y) = (N_y + class_alpha) /
    (N + C class_alpha).

    Args:
        event_shape: shape of one observation, e.g. `(64,)` or `(1, 8, 8)`.
        n_classes: C, labels are 0..C-1.
        n_levels: K, feature values 0..K-1 (2: Bernoulli features).
        alpha: pseudo-count of every feature value in every class.
        class_alpha: pseudo-count of every class.

    Shapes:
        x: (B, *event_shape); y, c: (B,) integer labels; log_prob -> (B,);
        predict_proba -> (B, C); sample(n) -> (n, *event_shape)
    """

    def __init__(self, event_shape: Sequence[int] | int, n_classes: int, *, n_levels: int = 2,
                 alpha: float = 1.0, class_alpha: float = 0.0,
                 dtype: torch.dtype = torch.float64) -> None:
        if isinstance(event_shape, int):
            event_shape = (event_shape,)
        check_positive_int(n_classes, "n_classes")
        check_int(n_levels, "n_levels", 2)
        super().__init__(event_shape, Support.levels(n_levels))
        self.n_classes, self.n_levels = n_classes, n_levels
        self.alpha = check_nonnegative(alpha, "alpha")
        self.class_alpha = check_nonnegative(class_alpha, "class_alpha")
        n_features = math.prod(self.event_shape or ())
        self.register_buffer("class_log_prior",
                             torch.full((n_classes,), -math.log(n_classes), dtype=dtype))
        self.register_buffer("feature_log_prob", torch.full(
            (n_classes, n_features, n_levels), -math.log(n_levels), dtype=dtype))

    @property
    def n_parameters(self) -> int:
        """(C - 1) class probabilities plus C D (K - 1) feature probabilities."""
        return (self.n_classes - 1) + self.feature_log_prob[..., 1:].numel()

    # ------------------------------------------------------------ fitting

    def _labels(self, y: Tensor, n: int, name: str = "y") -> Tensor:
        return check_labels(y, self.n_classes, n, name).to(self.class_log_prior.device)

    def fit(self, x: Tensor, y: Tensor) -> NaiveBayes:
        """Smoothed maximum-likelihood tables by counting.

        A class with no example and `alpha = class_alpha = 0` keeps uniform feature tables and
        gets prior probability 0, so it is never predicted.
        """
        x = self.validate_input(x).flatten(1).long().to(self.class_log_prior.device)
        y = self._labels(y, len(x))
        dtype = self.class_log_prior.dtype
        class_counts = torch.bincount(y, minlength=self.n_classes).to(dtype)
        if class_counts.sum() + self.class_alpha == 0:
            raise ValueError("x holds no examples: with class_alpha = 0 the prior is undefined")
        one_hot = torch.nn.functional.one_hot(x, self.n_levels).to(dtype)  # (N, D, K)
        counts = torch.zeros_like(self.feature_log_prob).index_add_(0, y, one_hot) + self.alpha
        totals = counts.sum(-1, keepdim=True)
        probs = torch.where(totals > 0, counts / totals.clamp_min(1e-300), 1.0 / self.n_levels)
        self.feature_log_prob.copy_(probs.log())
        prior = class_counts + self.class_alpha
        self.class_log_prior.copy_((prior / prior.sum()).log())
        return self

    # ------------------------------------------------------------ the model

    def _feature_terms(self, x: Tensor) -> Tensor:
        """log p(x_d | y = c) for each example, class and feature, shape (B, C, D)."""
        x = x.flatten(1).long().to(self.feature_log_prob.device)
        features = torch.arange(x.shape[1], device=x.device)
        return self.feature_log_prob[:, features, x].transpose(0, 1)  # (C, B, D) -> (B, C, D)

    def log_joint(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """log p(x_observed, y = c) for every class c; `mask` marks missing features (True).

        Shapes:
            x: (B, *event_shape), mask: broadcastable to x -> returns (B, C)
        """
        terms = self._feature_terms(self._observed(x, mask))
        if mask is not None:
            missing = self._mask(mask, x).flatten(1)
            terms = terms.masked_fill(missing[:, None, :], 0.0)  # sum_k p(x_d = k | y) = 1
        return self.class_log_prior + terms.sum(-1)

    def _log_prob(self, x: Tensor, c: Tensor | int | None = None) -> Tensor:
        joint = self.log_joint(x)
        if c is None:
            return torch.logsumexp(joint, 1)
        c = self._class_vector(c, len(x))
        return (joint - self.class_log_prior).gather(1, c[:, None]).squeeze(1)

    @property
    def is_conditional(self) -> bool:
        """`log_prob(x, c)` is log p(x | y = c) and `sample(n, c)` draws from it."""
        return True

    def log_prob(self, x: Tensor, c: Tensor | int | None = None) -> Tensor:
        """log p(x) = log sum_y p(x, y), or log p(x | y = c) when the class `c` is given."""
        return super().log_prob(x, c)

    def predict_proba(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """p(y | x_observed) by Bayes' rule, shape (B, C); missing features are summed out."""
        return torch.softmax(self.log_joint(x, mask), 1)

    def predict(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The most probable class of each example, shape (B,)."""
        return self.log_joint(x, mask).argmax(1)

    def _class_vector(self, c: Tensor | int, n: int) -> Tensor:
        if isinstance(c, int) and not isinstance(c, bool):
            c = torch.full((n,), c)
        return self._labels(c, n, "c")

    def _sample(self, n: int, c: Tensor | int | None = None, *,
                generator: torch.Generator | None = None) -> Tensor:
        """n samples of p(x), or of p(x | y = c) for a class (int) or classes (n,) `c`."""
        if c is None:
            c = categorical_draw(self.class_log_prior.expand(n, -1), generator)
        c = self._class_vector(c, n)
        x = categorical_draw(self.feature_log_prob[c], generator)
        return x.to(self.feature_log_prob.dtype).reshape(n, *(self.event_shape or ()))

    # ------------------------------------------------------------ missing data

    def _mask(self, mask: Tensor, x: Tensor) -> Tensor:
        check_tensor(mask, "mask")
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor (True = missing); got {mask.dtype}")
        try:
            return torch.broadcast_to(mask.to(x.device), x.shape)
        except RuntimeError:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to x of "
                             f"shape {tuple(x.shape)}") from None

    def _observed(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """x validated on its observed entries; missing ones may hold anything (even NaN)."""
        check_tensor(x, "x")
        check_event_shape(x, self.event_shape or (), "x")
        if mask is not None:
            x = x.masked_fill(self._mask(mask, x), 0)
        return self.validate_input(x)

    def impute(self, x: Tensor, mask: Tensor, *, method: str = "mode") -> Tensor:
        """Fill the missing entries of `x` (mask True) from p(x_missing | x_observed).

        Under naive Bayes, p(x_missing | x_obs) = sum_y p(y | x_obs) prod_{d missing}
        p(x_d | y): a mixture over classes, so the observed pixels inform the missing ones
        through the class they suggest.

        Args:
            method: "mode" (per missing feature, its most probable value under the
                marginal p(x_d | x_obs)), "mean" (its expected value) or "sample" (a joint
                sample: y ~ p(y | x_obs), then every missing x_d ~ p(x_d | y)).

        Shapes:
            x: (B, *event_shape), mask: broadcastable to x -> returns x's shape
        """
        if method not in ("mode", "mean", "sample"):
            raise ValueError(f"method must be 'mode', 'mean' or 'sample'; got {method!r}")
        observed = self._observed(x, mask)
        missing = self._mask(mask, x)
        posterior = self.predict_proba(observed, mask)  # (B, C)
        if method == "sample":
            filled = self.sample(len(x), c=torch.multinomial(posterior, 1).squeeze(1))
        else:
            marginal = torch.einsum("bc,cdk->bdk", posterior, self.feature_log_prob.exp())
            if method == "mode":
                filled = marginal.argmax(-1).to(marginal.dtype)
            else:
                filled = marginal @ torch.arange(self.n_levels, dtype=marginal.dtype,
                                                 device=marginal.device)
            filled = filled.reshape(x.shape)
        return torch.where(missing, filled.to(x.dtype).to(x.device), observed)
