"""Discrete latents (lecture 16): vector quantisation, the VQ-VAE and the two-stage model.

* `quantizer`: `VectorQuantizer`, the codebook with the straight-through estimator, the
  codebook and commitment losses or EMA updates, perplexity and dead-code restarts.
* `vqvae`: `VQVAE`, images on grey levels <-> grids of tokens.
* `two_stage`: `TwoStageModel`, a VQ-VAE with an autoregressive prior over its tokens, and
  its bound on the test NLL.
"""

from __future__ import annotations

from gmlib.vq.quantizer import QuantizerOutput, VectorQuantizer, perplexity
from gmlib.vq.two_stage import TwoStageModel
from gmlib.vq.vqvae import VQVAE

__all__ = ["VQVAE", "QuantizerOutput", "TwoStageModel", "VectorQuantizer", "perplexity"]
