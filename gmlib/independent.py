"""Fully factorised baselines: every pixel an independent categorical (or Bernoulli).

p(x) = prod_i p(x_i). These are the first rows of the course leaderboard: they ignore every
dependence between pixels, so any model that captures structure must beat them. Fitted by
maximum likelihood, which for categorical variables is counting, with add-alpha smoothing
(alpha = 0.5 is the Krichevsky-Trofimov / Jeffreys-prior estimate) so that a level never seen
in training keeps non-zero probability on test data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from gmlib.base import DensityModel
from gmlib.discrete import categorical_mle
from gmlib.draws import categorical_draw
from gmlib.validation import Support, check_finite, check_int, check_nonnegative

__all__ = ["IndependentBernoulli", "IndependentCategorical", "UniformCategorical"]


class IndependentCategorical(DensityModel):
    """Independent categorical distributions over K levels, one per coordinate.

    Before `fit` it is the uniform distribution (log p(x) = -D log K); `fit` sets the
    per-coordinate probabilities to smoothed relative frequencies.

    Args:
        event_shape: shape of one observation, e.g. `(64,)` or `(1, 8, 8)`.
        n_levels: K, the number of values each coordinate takes (0..K-1).
        alpha: pseudo-count added to every level when fitting (0 gives the plain MLE).

    Shapes:
        x: (B, *event_shape) with integer values in 0..K-1; log_prob -> (B,)

    Examples:
        >>> import torch
        >>> from gmlib.data import digits
        >>> model = IndependentCategorical((1, 8, 8), n_levels=17).fit(digits("train"))
        >>> round(float(-model.log_prob(digits("test")).mean()), 1)  # nats per test digit
        106.4
        >>> model.sample(2, generator=torch.Generator().manual_seed(0)).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, event_shape: Sequence[int] | int, n_levels: int, *,
                 alpha: float = 0.5) -> None:
        if isinstance(event_shape, int):
            event_shape = (event_shape,)
        check_int(n_levels, "n_levels", 2)
        check_nonnegative(alpha, "alpha")
        super().__init__(event_shape, Support.levels(n_levels))
        self.n_levels = n_levels
        self.alpha = float(alpha)
        # (*event_shape, K) log-probabilities; a buffer, since counting, not gradients, fits it
        self.register_buffer("logits", torch.zeros(*self.event_shape, n_levels))

    @property
    def n_parameters(self) -> int:
        """Free parameters: K - 1 per coordinate."""
        return math.prod(self.event_shape) * (self.n_levels - 1)

    @property
    def probs(self) -> Tensor:
        """Per-coordinate level probabilities, shape (*event_shape, K)."""
        return torch.softmax(self.logits, dim=-1)

    def fit(self, x: Tensor) -> IndependentCategorical:
        """Maximum-likelihood (add-alpha smoothed) probabilities by counting.

        Returns:
            self
        """
        x = self.validate_input(x)
        if len(x) == 0 and self.alpha == 0:
            raise ValueError("x must hold at least one example when alpha == 0")
        self.logits = categorical_mle(x, self.n_levels, alpha=self.alpha).to(self.logits).log()
        return self

    def _log_prob(self, x: Tensor) -> Tensor:
        log_p = torch.log_softmax(self.logits, dim=-1)  # (*event, K)
        index = x.long().unsqueeze(-1)  # (B, *event, 1)
        per_coordinate = torch.gather(log_p.expand(*x.shape, self.n_levels), -1, index)
        return per_coordinate.squeeze(-1).flatten(1).sum(1)

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        levels = categorical_draw(self.logits.expand(n, *self.logits.shape), generator)
        return levels.to(self.logits.dtype)


class IndependentBernoulli(IndependentCategorical):
    """Independent Bernoulli pixels: the K = 2 case, for binarised data.

    Shapes:
        x: (B, *event_shape) with values in {0, 1}; log_prob -> (B,)
    """

    def __init__(self, event_shape: Sequence[int] | int, *, alpha: float = 0.5) -> None:
        super().__init__(event_shape, 2, alpha=alpha)

    @property
    def mean(self) -> Tensor:
        """P(x_i = 1) for every coordinate, shape event_shape."""
        return self.probs[..., 1]

    def fit(self, x: Tensor) -> IndependentBernoulli:
        check_finite(x)
        return super().fit(x)


class UniformCategorical(IndependentCategorical):
    """The uniform distribution over K levels per coordinate: log p(x) = -D log K.

    It has no free parameters and nothing to learn (`fit` checks the data and returns self);
    it is the "know nothing" reference every model must beat.
    """

    def __init__(self, event_shape: Sequence[int] | int, n_levels: int) -> None:
        super().__init__(event_shape, n_levels, alpha=0.0)

    @property
    def n_parameters(self) -> int:
        return 0

    def fit(self, x: Tensor) -> UniformCategorical:
        self.validate_input(x)
        return self
