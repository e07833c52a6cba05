"""The deterministic autoencoder: x -> code -> reconstruction, trained by squared error.

It is not a generative model: it defines no p(x), and its codes fill an irregular region of
the code space, so decoding a random code gives garbage (lecture 07 shows it). Its encoder,
though, learns features from unlabelled data that can start a classifier (seed [003];
Hinton & Salakhutdinov 2006). A *denoising* autoencoder reconstructs x from a corrupted copy,
which forces features that capture the structure of the data rather than the identity map
(Vincent et al. 2008); on the digits its features start a classifier better.

References:
    Hinton, Salakhutdinov (2006), Reducing the Dimensionality of Data with Neural Networks,
        Science 313(5786)
    Vincent, Larochelle, Bengio, Manzagol (2008), Extracting and Composing Robust Features
        with Denoising Autoencoders, ICML
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.base import check_condition
from gmlib.utils import parameter_dtype
from gmlib.validation import check_event_shape, check_finite, check_nonnegative, check_tensor

__all__ = ["Autoencoder"]


class Autoencoder(nn.Module):
    """code = encoder(scale * x), reconstruction = decoder(code) / scale.

    Args:
        encoder: (B, D) -> (B, code_dim), D the number of values in one x.
        decoder: (B, code_dim) -> (B, D).
        event_shape: shape of one observation.
        input_scale: x is multiplied by it before the encoder (1/16 for grey levels 0..16),
            and the loss is measured on that scale.
        noise_std: in training mode, Gaussian noise of this standard deviation (on the
            scaled inputs) corrupts the encoder's input; the target stays clean.

    Shapes:
        x: (B, *event_shape) -> encode: (B, code_dim); reconstruct: (B, *event_shape);
        loss: (B,)
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, event_shape: Sequence[int], *,
                 input_scale: float = 1.0, noise_std: float = 0.0) -> None:
        super().__init__()
        self.noise_std = check_nonnegative(noise_std, "noise_std")
        self.encoder, self.decoder = encoder, decoder
        self.event_shape = tuple(int(s) for s in event_shape)
        self.input_scale = float(input_scale)

    def _validate(self, x: Tensor) -> Tensor:
        check_tensor(x, "x")
        check_event_shape(x, self.event_shape, "x")
        return check_finite(x, "x")

    def encode(self, x: Tensor) -> Tensor:
        """The code of each x."""
        x = self._validate(x)
        return self.encoder(x.flatten(1).to(parameter_dtype(self)) * self.input_scale)

    def decode(self, z: Tensor) -> Tensor:
        """The reconstruction, in the data's units, of codes z (B, code_dim)."""
        check_tensor(z, "z")
        return (self.decoder(z) / self.input_scale).view(len(z), *self.event_shape)

    def reconstruct(self, x: Tensor) -> Tensor:
        """decode(encode(x)), without gradients."""
        with torch.no_grad():
            return self.decode(self.encode(x))

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Squared reconstruction error per example, summed over values, on the scaled data
        (from a corrupted input in training mode when `noise_std > 0`)."""
        check_condition(self, c, conditional=False)
        x = self._validate(x)
        target = x.flatten(1).to(parameter_dtype(self)) * self.input_scale
        inputs = target
        if self.training and self.noise_std > 0:
            inputs = target + self.noise_std * torch.randn_like(target)
        return (self.decoder(self.encoder(inputs)) - target).pow(2).sum(-1)
