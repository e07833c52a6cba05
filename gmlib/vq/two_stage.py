"""`TwoStageModel`: a trained VQ-VAE and an autoregressive prior over its tokens (the recipe
of VQ-VAE, VQGAN and DALL-E: learn the tokens first, then a model of them).

The model is p(x) = sum_z p(z) p(x | z) over every grid z of tokens, with p(z) the prior
(a transformer over the N tokens in raster order) and p(x | z) the VQ-VAE's categorical
decoder. The sum has n_codes^N terms, but all of them are >= 0, so keeping only the term of
the encoder's tokens z(x) gives a lower bound,

    log p(x) >= log p(z(x)) + log p(x | z(x)),

which is also the ELBO with the deterministic posterior q(z | x) = 1[z = z(x)], whose entropy
is zero. Summing more grids z (e.g. those one token away from z(x)) can only tighten it.

References:
    van den Oord, Vinyals, Kavukcuoglu 2017, Neural discrete representation learning,
    https://arxiv.org/abs/1711.00937
    Esser, Rombach, Ommer 2021, Taming transformers for high-resolution image synthesis,
    https://arxiv.org/abs/2012.09841
    Ramesh et al. 2021, Zero-shot text-to-image generation, https://arxiv.org/abs/2102.12092
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.vq.vqvae import VQVAE

__all__ = ["TwoStageModel"]


class TwoStageModel(GenerativeModel):
    """p(x) = sum_z p(z) p(x | z): a frozen VQ-VAE and a prior over its token grids.

    Args:
        vqvae: a trained `VQVAE` (frozen here: only the prior learns).
        prior: a `DensityModel` over sequences of `vqvae.n_tokens` tokens with
            `vqvae.n_codes` values (e.g. `CausalTransformer((N,), n_codes)`).

    Shapes:
        x: (B, C, H, W) -> elbo, loss (B,); sample(n) -> (n, C, H, W)
    """

    def __init__(self, vqvae: VQVAE, prior: nn.Module) -> None:
        super().__init__(vqvae.event_shape, Support.levels(vqvae.n_levels))
        prior_shape = tuple(getattr(prior, "event_shape", ()) or ())
        if getattr(prior, "n_levels", None) != vqvae.n_codes or \
                prior_shape not in ((vqvae.n_tokens,), (1, *vqvae.token_grid)):
            raise ValueError(f"the prior must model {vqvae.n_tokens} tokens with "
                             f"{vqvae.n_codes} values (the VQ-VAE's grid and codebook); got "
                             f"event_shape={prior_shape}, "
                             f"n_levels={getattr(prior, 'n_levels', None)}")
        self.vqvae, self.prior = vqvae.eval().requires_grad_(False), prior

    def train(self, mode: bool = True) -> TwoStageModel:
        """Training mode reaches the prior only: the VQ-VAE stays frozen (no EMA updates)."""
        super().train(mode)
        self.vqvae.eval()
        return self

    def tokens(self, x: Tensor) -> Tensor:
        """z(x), the encoder's tokens, (B, N)."""
        return self.vqvae.encode(self.validate_input(x))

    def _prior_input(self, tokens: Tensor) -> Tensor:
        return tokens.reshape(len(tokens), *self.prior.event_shape)

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """-log p(z(x)): the prior's loss on the tokens (the decoder term does not depend
        on the prior)."""
        self.check_condition(c)
        return -self.prior.log_prob(self._prior_input(self.tokens(x)))

    def elbo_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(log p(z(x)), log p(x | z(x))), each (B,)."""
        x = self.validate_input(x)
        if len(x) == 0:
            return self._empty_result(x), self._empty_result(x)
        z = self.tokens(x)
        with torch.no_grad():
            return self.prior.log_prob(self._prior_input(z)), self.vqvae.log_likelihood(x, z)

    def elbo(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """log p(z(x)) + log p(x | z(x)) <= log p(x), per image (B,)."""
        self.check_condition(c)
        prior, decoder = self.elbo_terms(x)
        return prior + decoder

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refuses: the sum over n_codes^N token grids is intractable; elbo is a bound."""
        raise NotImplementedError(
            "log p(x) sums over every grid of tokens; elbo(x) keeps the encoder's grid, a "
            "lower bound")

    def _sample(self, n: int, *, mode: bool = True,
                generator: torch.Generator | None = None) -> Tensor:
        """Tokens from the prior, then images from the decoder: each pixel's most likely
        level (`mode`, as VQ-VAE papers show them) or a draw from p(x | z)."""
        z = self.prior.sample(n, generator=generator).reshape(n, -1).long()
        return self.vqvae.decode(z, mode=mode, generator=generator)
