"""`build_vae`: the encoder, decoder and prior of a VAE for images, from a few words.

The lecture and the benchmark build their models here, so the architecture that the book
describes is the one that is scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from gmlib.nn import MLP, ConvDecoderNet
from gmlib.vae.decoders import BernoulliDecoder, CategoricalDecoder, Decoder, GaussianDecoder
from gmlib.vae.encoders import GaussianEncoder
from gmlib.vae.model import VAE, ConditionalVAE
from gmlib.vae.priors import MixtureOfGaussiansPrior, StandardNormalPrior, VampPrior
from gmlib.validation import check_int

__all__ = ["build_vae"]

LIKELIHOODS = ("bernoulli", "categorical", "logistic", "gaussian")
PRIORS = ("normal", "mog", "vamp")


def _decoder(likelihood: str, architecture: str, in_features: int, shape: tuple[int, ...],
             n_levels: int, hidden: Sequence[int], dropout: float, channels: int) -> Decoder:
    params = {"bernoulli": 1, "categorical": n_levels, "logistic": 2, "gaussian": 1}[likelihood]
    if architecture == "conv":
        if len(shape) != 3 or shape[0] != 1:
            raise ValueError(f"decoder='conv' needs one-channel images (1, H, W); got {shape}")
        net = ConvDecoderNet(in_features, params, shape[1:], channels=channels,
                             hidden=hidden[0] if hidden else 256, dropout=dropout)
    elif architecture == "mlp":
        net = MLP(in_features, hidden, params * math.prod(shape), dropout=dropout)
    else:
        raise ValueError(f"decoder must be 'mlp' or 'conv'; got {architecture!r}")
    if likelihood == "bernoulli":
        return BernoulliDecoder(net, shape)
    if likelihood == "gaussian":
        return GaussianDecoder(net, shape)
    return CategoricalDecoder(net, shape, n_levels,
                              parameterization="free" if likelihood == "categorical"
                              else "logistic")


def build_vae(event_shape: Sequence[int] = (1, 8, 8), *, likelihood: str = "logistic",
              n_levels: int = 17, latent_dim: int = 16, hidden: Sequence[int] = (256, 256),
              decoder: str = "mlp", prior: str = "normal", n_components: int = 16,
              pseudo_inputs: Tensor | None = None, dropout: float = 0.0, channels: int = 32,
              n_classes: int | None = None, beta: float = 1.0, warmup_steps: int = 0,
              train_k: int = 1) -> VAE:
    """A VAE (or a `ConditionalVAE` when `n_classes` is given) with MLP encoder.

    Args:
        event_shape: shape of one observation.
        likelihood: "bernoulli" (binary pixels), "categorical" (free logits over n_levels),
            "logistic" (discretised logistic over n_levels) or "gaussian" (real values).
        n_levels: grey levels K of the data (for "categorical" and "logistic").
        latent_dim: size of z.
        hidden: hidden widths of the MLPs (the conv decoder uses hidden[0]).
        decoder: "mlp" or "conv" (`gmlib.nn.ConvDecoderNet`, for (1, H, W) images).
        prior: "normal" (N(0, I)), "mog" (learned mixture) or "vamp" (VampPrior).
        n_components: mixture components or pseudo-inputs of the prior.
        pseudo_inputs: starting pseudo-inputs (n_components, *event_shape) for "vamp";
            uniform noise over the data's range by default.
        dropout: dropout after every hidden layer (a strong regulariser on 1000 images).
        channels: feature maps of the conv decoder.
        n_classes: labels for a conditional VAE.
        beta, warmup_steps, train_k: passed to `VAE`.

    Examples:
        >>> from gmlib.data import digits
        >>> vae = build_vae((1, 8, 8), likelihood="categorical")
        >>> vae.elbo(digits("test")[:4]).shape  # one bound per image, in nats
        torch.Size([4])
    """
    shape = tuple(int(s) for s in event_shape)
    check_int(latent_dim, "latent_dim", 1)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}; got {prior!r}")
    n_context = 0 if n_classes is None else check_int(n_classes, "n_classes", 2)
    levels = likelihood in ("categorical", "logistic")
    scale = 1.0 / (n_levels - 1) if levels else 1.0
    encoder = GaussianEncoder(
        MLP(math.prod(shape) + n_context, hidden, 2 * latent_dim, dropout=dropout),
        latent_dim, input_scale=scale)
    dec = _decoder(likelihood, decoder, latent_dim + n_context, shape, n_levels, tuple(hidden),
                   dropout, channels)
    if prior == "normal":
        p_z = StandardNormalPrior(latent_dim)
    elif prior == "mog":
        p_z = MixtureOfGaussiansPrior(latent_dim, n_components)
    else:
        if pseudo_inputs is None:
            top = n_levels - 1 if levels else 1.0
            pseudo_inputs = torch.rand(n_components, *shape) * top
        p_z = VampPrior(encoder, pseudo_inputs)
    kwargs = {"beta": beta, "warmup_steps": warmup_steps, "train_k": train_k}
    if n_classes is None:
        return VAE(encoder, dec, p_z, **kwargs)
    return ConditionalVAE(encoder, dec, n_classes, p_z, **kwargs)
