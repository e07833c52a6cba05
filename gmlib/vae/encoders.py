"""Encoders q(z | x): networks that return a torch distribution over the latent code.

An encoder amortises inference (Kingma & Welling 2014, section 2.1): one network maps any x
to the parameters of its approximate posterior, instead of optimising a separate q per
example as classical variational inference does.

References:
    Kingma, Welling (2014), Auto-Encoding Variational Bayes, https://arxiv.org/abs/1312.6114
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal, OneHotCategorical

from gmlib.utils import parameter_dtype

__all__ = ["CategoricalEncoder", "Encoder", "GaussianEncoder"]


class Encoder(nn.Module):
    """Shared input handling: flatten x, scale it, append an optional context vector.

    Args:
        net: maps (B, D_in) to the posterior's parameters, where D_in is the number of
            values in one x plus the size of the context (if any).
        latent_dim: size of the latent vector z.
        input_scale: x is multiplied by it first (e.g. 1/16 for grey levels 0..16), so the
            network sees inputs of order one.
    """

    n_outputs_per_dim = 1

    def __init__(self, net: nn.Module, latent_dim: int, *, input_scale: float = 1.0) -> None:
        super().__init__()
        self.net, self.latent_dim, self.input_scale = net, int(latent_dim), float(input_scale)

    def features(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """The network's output for x (B, *event_shape) and context (B, C)."""
        h = x.flatten(1).to(parameter_dtype(self)) * self.input_scale
        if context is not None:
            h = torch.cat([h, context.to(h.dtype)], dim=-1)
        out = self.net(h)
        want = self.n_outputs_per_dim * self.latent_dim
        if out.dim() != 2 or out.shape[-1] != want:
            raise ValueError(f"{type(self).__name__}'s net must return (B, {want}) for a "
                             f"latent of size {self.latent_dim}; got {tuple(out.shape)}")
        return out



class GaussianEncoder(Encoder):
    """q(z | x) = N(mu(x), diag sigma(x)^2): the net returns (mu, log sigma) side by side.

    log sigma is clamped to [min_log_scale, max_log_scale] so that a bad initialisation or a
    large learning rate cannot produce a zero or infinite variance.

    Shapes:
        x: (B, *event_shape) -> a distribution with batch shape (B,), event shape (latent_dim,)
    """

    n_outputs_per_dim = 2

    def __init__(self, net: nn.Module, latent_dim: int, *, input_scale: float = 1.0,
                 min_log_scale: float = -8.0, max_log_scale: float = 5.0) -> None:
        super().__init__(net, latent_dim, input_scale=input_scale)
        self.min_log_scale, self.max_log_scale = min_log_scale, max_log_scale

    def forward(self, x: Tensor, context: Tensor | None = None) -> Distribution:
        mu, log_scale = self.features(x, context).chunk(2, dim=-1)
        log_scale = log_scale.clamp(self.min_log_scale, self.max_log_scale)
        return Independent(Normal(mu, log_scale.exp(), validate_args=False), 1)


class CategoricalEncoder(Encoder):
    """q(z | x) = Cat(softmax(net(x))) over `n_states` values, z given as a one-hot vector.

    Its support is finite, so `VAE.elbo` computes the expectation over q exactly by
    enumeration (and its gradient needs no reparameterisation).

    Shapes:
        x: (B, *event_shape) -> a distribution with batch shape (B,), event shape (n_states,)
    """

    def __init__(self, net: nn.Module, n_states: int, *, input_scale: float = 1.0) -> None:
        super().__init__(net, n_states, input_scale=input_scale)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Distribution:
        return OneHotCategorical(logits=self.features(x, context), validate_args=False)
