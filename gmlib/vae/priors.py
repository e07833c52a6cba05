"""Priors p(z) for the VAE: modules whose `forward()` returns a torch distribution.

* `StandardNormalPrior`: N(0, I), the usual choice, with an analytic KL to a Gaussian q.
* `MixtureOfGaussiansPrior`: a learnable mixture of diagonal Gaussians.
* `VampPrior`: the mixture of the encoder's posteriors at K learned pseudo-inputs,
  p(z) = 1/K sum_k q(z | u_k) (Tomczak & Welling 2018), the prior that approximates the
  optimal one, the aggregate posterior (1/N) sum_n q(z | x_n).

The KL of a mixture prior has no closed form, so `VAE` estimates it by Monte Carlo with the
same z it decodes (Kingma & Welling 2014, eq. 6). Any module with `forward() -> Distribution`
over (latent_dim,) works as a prior.

References:
    Tomczak, Welling (2018), VAE with a VampPrior, https://arxiv.org/abs/1705.07120
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
)

from gmlib.vae.encoders import Encoder
from gmlib.validation import check_int, check_tensor

__all__ = ["MixtureOfGaussiansPrior", "StandardNormalPrior", "VampPrior"]


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I) in `latent_dim` dimensions (no parameters)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        check_int(latent_dim, "latent_dim", 1)
        self.latent_dim = latent_dim
        self.register_buffer("loc", torch.zeros(latent_dim))

    def forward(self) -> Distribution:
        return Independent(Normal(self.loc, torch.ones_like(self.loc), validate_args=False), 1)


class MixtureOfGaussiansPrior(nn.Module):
    """p(z) = sum_k pi_k N(z; m_k, diag s_k^2), every parameter learned.

    The means start as draws from N(0, I) (a fixed generator, so models are reproducible)
    and the scales at one, so at initialisation the prior is close to N(0, I) widened.
    """

    def __init__(self, latent_dim: int, n_components: int = 16) -> None:
        super().__init__()
        check_int(latent_dim, "latent_dim", 1)
        check_int(n_components, "n_components", 1)
        self.latent_dim, self.n_components = latent_dim, n_components
        generator = torch.Generator().manual_seed(0)
        self.means = nn.Parameter(torch.randn(n_components, latent_dim, generator=generator))
        self.log_scales = nn.Parameter(torch.zeros(n_components, latent_dim))
        self.logits = nn.Parameter(torch.zeros(n_components))

    def forward(self) -> Distribution:
        components = Independent(Normal(self.means, self.log_scales.exp(), validate_args=False),
                                 1)
        return MixtureSameFamily(Categorical(logits=self.logits, validate_args=False),
                                 components, validate_args=False)


class VampPrior(nn.Module):
    """p(z) = 1/K sum_k q(z | u_k) with learned pseudo-inputs u_k in data space.

    Args:
        encoder: the VAE's encoder (shared, not copied: the prior moves with it).
        pseudo_inputs: (K, *event_shape) starting values, e.g. K training images plus noise.

    Shapes:
        pseudo_inputs: (K, *event_shape); the distribution has event shape (latent_dim,)
    """

    def __init__(self, encoder: Encoder, pseudo_inputs: Tensor) -> None:
        super().__init__()
        check_tensor(pseudo_inputs, "pseudo_inputs")
        if pseudo_inputs.dim() < 2 or len(pseudo_inputs) < 1:
            raise ValueError("pseudo_inputs must have shape (K, *event_shape) with K >= 1; got "
                             f"{tuple(pseudo_inputs.shape)}")
        self.encoder = encoder
        self.latent_dim = encoder.latent_dim
        self.pseudo_inputs = nn.Parameter(pseudo_inputs.detach().clone().float())

    @property
    def n_components(self) -> int:
        return len(self.pseudo_inputs)

    def forward(self) -> Distribution:
        components = self.encoder(self.pseudo_inputs)
        weights = torch.zeros(self.n_components, device=self.pseudo_inputs.device,
                              dtype=self.pseudo_inputs.dtype)
        return MixtureSameFamily(Categorical(logits=weights, validate_args=False), components,
                                 validate_args=False)
