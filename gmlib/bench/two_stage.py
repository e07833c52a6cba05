"""Bench entries for the two-stage models of lecture 16: a generative model of an
autoencoder's latent, not of the pixels.

* `vqvae-transformer`: a VQ-VAE (64 codes of dimension 16, a 4x4 grid of tokens per digit,
  EMA codebook with dead-code restarts, categorical decoder over the 17 levels) and a causal
  transformer over its 16 tokens (the recipe of VQ-VAE / VQGAN / DALL-E). Its test NLL is the
  bound log p(x) >= log p(z(x)) + log p(x | z(x)) of `gmlib.vq.TwoStageModel` (one term of
  the sum over token grids); samples decode each pixel's most likely level.
* `latent-flow-matching`: a deterministic autoencoder (8 numbers per digit) and flow
  matching on its standardised codes (an MLP velocity), trained for about as long as the
  pixel-space `flow-matching` entry; no likelihood; sample metrics of 1000 samples from 50
  midpoint steps, and the seconds those samples took (also measured for `flow-matching`).
"""

from __future__ import annotations

from torch import nn

from gmlib.autoregressive import CausalTransformer
from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import timed_digit_quality
from gmlib.diffusion import FlowMatching
from gmlib.diffusion.latent import LatentFlowMatching
from gmlib.nn import MLP
from gmlib.nn.unet import ConditionedMLP
from gmlib.vae import Autoencoder
from gmlib.vq import VQVAE, TwoStageModel

__all__ = ["latent_flow_matching", "vqvae_transformer"]

VQ_EPOCHS, PRIOR_EPOCHS = 30, 60
CODE_DIM, AE_EPOCHS, FLOW_EPOCHS = 8, 60, 1400


def vqvae_transformer(ctx: BenchContext) -> TwoStageModel:
    """The untrained two-stage model for the track's images."""
    vqvae = VQVAE(ctx.shape, ctx.levels, n_codes=64, code_dim=16, n_down=1, hidden=64)
    prior = CausalTransformer((vqvae.n_tokens,), vqvae.n_codes, width=64, n_layers=2,
                              dropout=0.1)
    return TwoStageModel(vqvae, prior)


def _train_vqvae_transformer(ctx: BenchContext) -> nn.Module:
    model = vqvae_transformer(ctx)
    model.vqvae.requires_grad_(True)
    ctx.fit(model.vqvae, epochs=VQ_EPOCHS, lr=2e-3, batch_size=64)
    model.vqvae.eval().requires_grad_(False)
    return ctx.fit(model, epochs=PRIOR_EPOCHS, lr=3e-3, batch_size=64, weight_decay=1e-2,
                   patience=10)


def _bound(model: nn.Module, x: object) -> object:
    return model.elbo(x)


register(BenchEntry(
    name="vqvae-transformer", family="two-stage", track="17-level",
    description=f"VQ-VAE (64 codes, 4x4 tokens, EMA codebook, dead-code restarts, "
                f"{VQ_EPOCHS} epochs) + causal transformer prior over the 16 tokens (2 "
                "layers, width 64); test NLL bounded by -log p(z(x)) - log p(x | z(x)); "
                "samples decode each pixel's most likely level",
    train=_train_vqvae_transformer, build=vqvae_transformer, score=_bound,
    quality=timed_digit_quality))


def latent_flow_matching(ctx: BenchContext) -> LatentFlowMatching:
    """The untrained latent model: an MLP autoencoder (8-dimensional code) and flow matching
    with an MLP velocity on the code."""
    d = ctx.n_dims
    autoencoder = Autoencoder(MLP(d, (256, 256), CODE_DIM), MLP(CODE_DIM, (256, 256), d),
                              ctx.shape, input_scale=1 / (ctx.levels - 1))
    flow = FlowMatching(ConditionedMLP(CODE_DIM, hidden=256, n_layers=3), (CODE_DIM,))
    return LatentFlowMatching(autoencoder, flow, ctx.levels)


def _train_latent_flow_matching(ctx: BenchContext) -> nn.Module:
    model = latent_flow_matching(ctx)
    model.autoencoder.requires_grad_(True)
    ctx.fit(model.autoencoder, epochs=AE_EPOCHS, lr=2e-3, batch_size=64)
    model.autoencoder.eval().requires_grad_(False)
    model.fit_scaling(ctx.train.to(ctx.device))
    return ctx.fit(model, epochs=FLOW_EPOCHS, lr=2e-3, batch_size=64, validate=False,
                   lr_schedule="cosine")


register(BenchEntry(
    name="latent-flow-matching", family="two-stage", track="17-level",
    description=f"flow matching on the {CODE_DIM}-number code of an MLP autoencoder "
                f"({AE_EPOCHS} + {FLOW_EPOCHS} epochs, about the pixel model's training "
                "time); sample metrics of 1000 samples from 50 midpoint steps",
    train=_train_latent_flow_matching, build=latent_flow_matching, has_likelihood=False,
    quality=timed_digit_quality))
