"""`LatentFlowMatching`: flow matching in an autoencoder's latent space (the latent
diffusion recipe of Rombach et al. 2022, with flow matching as the generative model).

Stage one trains an autoencoder x -> z -> x_hat; stage two trains a generative model of the
codes z = enc(x) of the training images, and a sample is decoded, dec(z). The generative
model works on d numbers instead of D pixels, so each network evaluation is cheap, and the
autoencoder, not the flow, is responsible for the fine detail. The price: no likelihood of x
(the decoder is deterministic) and a sample is never better than what the decoder can draw.
As in Rombach et al., the codes are standardised (per dimension, on the training codes) so
the flow's noise N(0, I) is on the scale of the data.

References:
    Rombach et al. 2022, High-resolution image synthesis with latent diffusion models,
    https://arxiv.org/abs/2112.10752
    Vahdat, Kreis, Kautz 2021, Score-based generative modeling in latent space,
    https://arxiv.org/abs/2106.05931
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.base import GenerativeModel, Support
from gmlib.diffusion.flow_matching import FlowMatching
from gmlib.exceptions import NotFittedError
from gmlib.vae.autoencoder import Autoencoder
from gmlib.validation import check_int

__all__ = ["LatentFlowMatching"]


class LatentFlowMatching(GenerativeModel):
    """A frozen autoencoder and a `FlowMatching` model of its standardised codes.

    Args:
        autoencoder: a trained `Autoencoder` of images on `n_levels` grey levels, whose
            `input_scale` maps the levels to its working range (e.g. 1/16).
        flow: a real-valued `FlowMatching` with event shape (code_dim,).
        n_levels: grey levels of the data (decoded samples are rounded to them).

    Call `fit_scaling(train_images)` once before training the flow.

    Shapes:
        x: (B, *event_shape) -> loss (B,); sample(n) -> (n, *event_shape)
    """

    def __init__(self, autoencoder: Autoencoder, flow: FlowMatching, n_levels: int) -> None:
        super().__init__(autoencoder.event_shape, Support.levels(check_int(n_levels,
                                                                             "n_levels", 2)))
        if flow.n_levels is not None or len(flow.event_shape) != 1:
            raise ValueError("the flow must be real-valued (n_levels=None) over code vectors "
                             f"(event_shape=(code_dim,)); got n_levels={flow.n_levels}, "
                             f"event_shape={flow.event_shape}")
        self.autoencoder = autoencoder.eval().requires_grad_(False)
        self.flow, self.n_levels = flow, n_levels
        code_dim = flow.event_shape[0]
        self.register_buffer("code_mean", torch.zeros(code_dim))
        self.register_buffer("code_std", torch.ones(code_dim))
        self.register_buffer("scaled", torch.zeros((), dtype=torch.bool))

    def train(self, mode: bool = True) -> LatentFlowMatching:
        """Training mode reaches the flow only; the autoencoder stays frozen."""
        super().train(mode)
        self.autoencoder.eval()
        return self

    def fit_scaling(self, x: Tensor) -> LatentFlowMatching:
        """Set the per-dimension mean and standard deviation of the codes of `x`."""
        with torch.no_grad():
            z = self.autoencoder.encode(self.validate_input(x))
        if z.shape[1] != self.code_mean.shape[0]:
            raise ValueError(f"the autoencoder gives {z.shape[1]}-dimensional codes; the flow "
                             f"models {self.code_mean.shape[0]}")
        self.code_mean.copy_(z.mean(0))
        self.code_std.copy_(z.std(0).clamp_min(1e-6))
        self.scaled.fill_(True)
        return self

    def _check_scaled(self) -> None:
        if not bool(self.scaled):
            raise NotFittedError("call fit_scaling(train_images) before training or sampling")

    def encode(self, x: Tensor) -> Tensor:
        """The standardised codes of images, (B, code_dim)."""
        self._check_scaled()
        with torch.no_grad():
            z = self.autoencoder.encode(self.validate_input(x))
        return (z - self.code_mean) / self.code_std

    def decode(self, z: Tensor) -> Tensor:
        """Images from standardised codes: the decoder's output rounded to the grey levels.

        Shapes:
            z: (B, code_dim) -> (B, *event_shape)
        """
        self._check_scaled()
        with torch.no_grad():
            x = self.autoencoder.decode(z * self.code_std + self.code_mean)
        return x.round().clamp(0, self.n_levels - 1)

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The flow-matching loss on the standardised codes of x, (B,)."""
        self.check_condition(c)
        return self.flow.loss(self.encode(x))

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refuses: a deterministic decoder gives no likelihood of the pixels."""
        raise NotImplementedError(
            "the latent model's decoder is deterministic, so it defines no p(x) of the "
            "images; compare it by sample quality")

    def _sample(self, n: int, *, steps: int = 50, method: str = "midpoint",
                generator: torch.Generator | None = None) -> Tensor:
        """Codes from the flow (`steps` steps of `method`), decoded to grey levels."""
        self._check_scaled()
        z = self.flow.sample(n, steps=steps, method=method, generator=generator)
        return self.decode(z)
