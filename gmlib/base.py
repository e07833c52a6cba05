"""The API contract every gmlib model follows (conventions, section 3).

Three interfaces, one per way a model relates to its likelihood:

* `DensityModel`: exact `log_prob(x)` (Bayesian networks, mixtures, PPCA, autoregressive
  models, flows); `loss(x) = -log_prob(x)`.
* `LatentVariableModel`: only bounds on the likelihood, `elbo(x)` and `iwae_bound(x, k)`
  (the VAE family); `loss(x) = -elbo(x)`; `log_prob` refuses with the reason.
* `ImplicitModel`: a sampler without a density (GANs); `log_prob` refuses with the reason.

All log-likelihoods are in nats, one value per example. The public methods validate their
input (shape, support, finite values) and then call the underscored method a subclass
implements, so the checks live in one place and every model fails the same clear way.
Sampling always runs under `torch.no_grad()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gmlib.validation import (
    Support,
    check_event_shape,
    check_positive_int,
    check_support,
    check_tensor,
)

__all__ = ["DensityModel", "GenerativeModel", "ImplicitModel", "LatentVariableModel", "Support"]


class GenerativeModel(nn.Module, ABC):
    """Shared behaviour: the event shape and support of an observation, and `sample(n)`.

    Args:
        event_shape: the shape of one observation, e.g. `(64,)` or `(1, 8, 8)`; None while an
            estimator has not seen data yet (then shape checks start after `fit`).
        support: the values an observation takes (real, binary, or K integer levels).
    """

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

    def validate_input(self, x: Tensor, name: str = "x") -> Tensor:
        """Check `x` against the model: a tensor of shape (B, *event_shape) in the support."""
        check_tensor(x, name)
        if self.event_shape is not None:
            check_event_shape(x, self.event_shape, name)
        return check_support(x, self.support, name)

    def sample(self, n: int, **kwargs: Any) -> Tensor:
        """Draw `n` independent samples.

        Shapes:
            returns (n, *event_shape)
        """
        check_positive_int(n, "n")
        with torch.no_grad():
            return self._sample(n, **kwargs)

    @abstractmethod
    def _sample(self, n: int, **kwargs: Any) -> Tensor:
        """Draw `n` samples; called under no_grad with `n` already checked."""

    @abstractmethod
    def loss(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Per-example training loss, shape (B,); `train.fit` minimises its mean."""


class DensityModel(GenerativeModel):
    """A model with an exact, normalised `log_prob`."""

    def log_prob(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Exact log-likelihood of each example in nats.

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        return self._log_prob(self.validate_input(x), **kwargs)

    @abstractmethod
    def _log_prob(self, x: Tensor, **kwargs: Any) -> Tensor:
        """log p(x) of a validated batch, shape (B,)."""

    def loss(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Negative log-likelihood per example (maximum likelihood training)."""
        return -self.log_prob(x, **kwargs)


class LatentVariableModel(GenerativeModel):
    """A model p(x) = ∫ p(x|z) p(z) dz whose likelihood is only bounded (Kingma & Welling 2014)."""

    def elbo(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Evidence lower bound, log p(x) >= E_q[log p(x, z) - log q(z|x)], per example.

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        return self._elbo(self.validate_input(x), **kwargs)

    def iwae_bound(self, x: Tensor, k: int, **kwargs: Any) -> Tensor:
        """Importance-weighted bound with `k` samples (Burda et al. 2016); tighter as k grows.

        Shapes:
            x: (B, *event_shape) -> returns (B,)
        """
        check_positive_int(k, "k")
        return self._iwae_bound(self.validate_input(x), k, **kwargs)

    @abstractmethod
    def _elbo(self, x: Tensor, **kwargs: Any) -> Tensor:
        """The ELBO of a validated batch, shape (B,)."""

    @abstractmethod
    def _iwae_bound(self, x: Tensor, k: int, **kwargs: Any) -> Tensor:
        """The k-sample importance-weighted bound of a validated batch, shape (B,)."""

    def loss(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Negative ELBO per example."""
        return -self.elbo(x, **kwargs)

    def log_prob(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Refused: the marginal likelihood of a latent-variable model is intractable."""
        raise NotImplementedError(
            f"{type(self).__name__} has no tractable log_prob: log p(x) = log ∫ p(x|z) p(z) dz "
            "has no closed form. Use elbo(x) for a lower bound, or iwae_bound(x, k) for a "
            "tighter one as k grows."
        )


class ImplicitModel(GenerativeModel):
    """A sampler x = G(z) that defines no density (GANs, Goodfellow et al. 2014)."""

    def log_prob(self, x: Tensor, **kwargs: Any) -> Tensor:
        """Refused: an implicit model only samples."""
        raise NotImplementedError(
            f"{type(self).__name__} is an implicit model: it maps noise to samples and defines "
            "no density, so it cannot score data, compress it or flag outliers. Compare its "
            "samples instead (gmlib.metrics)."
        )
