"""Autoencoders and variational autoencoders (lecture 07).

`VAE(encoder, decoder, prior)`: the encoder and decoder are networks that return torch
distributions, q(z | x) and p(x | z); the prior is a module returning p(z). `build_vae`
assembles the usual ones for images. See `gmlib.vae.model` for the bounds.
"""

from __future__ import annotations

from gmlib.vae.autoencoder import Autoencoder
from gmlib.vae.decoders import (
    BernoulliDecoder,
    CategoricalDecoder,
    Decoder,
    GaussianDecoder,
    discretized_logistic_log_probs,
    expected_value,
)
from gmlib.vae.encoders import CategoricalEncoder, Encoder, GaussianEncoder
from gmlib.vae.factory import build_vae
from gmlib.vae.model import VAE, ConditionalVAE
from gmlib.vae.priors import MixtureOfGaussiansPrior, StandardNormalPrior, VampPrior

__all__ = ["VAE", "Autoencoder", "BernoulliDecoder", "CategoricalDecoder", "CategoricalEncoder",
           "ConditionalVAE", "Decoder", "Encoder", "GaussianDecoder", "GaussianEncoder",
           "MixtureOfGaussiansPrior", "StandardNormalPrior", "VampPrior", "build_vae",
           "discretized_logistic_log_probs", "expected_value"]
