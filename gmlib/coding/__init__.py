"""Lossless compression with generative models (lecture 14).

* `arithmetic`: the arithmetic coder over integer frequency tables (no model inside).
* `tables`: a model's probabilities quantised to those tables, and the ideal code length.
* `compress`: `compress(model, x)` and `decompress(model, data)` for autoregressive and
  per-pixel models.
* `ans`: an asymmetric-numeral-systems stack (last in, first out).
* `bitsback`: bits-back coding on that stack, with a Bernoulli mixture (exact posterior)
  or a VAE (BB-ANS, its latent discretised into buckets of equal prior mass).
"""

from __future__ import annotations

from gmlib.coding.ans import ANSStack
from gmlib.coding.arithmetic import (
    MAX_TOTAL,
    PRECISION,
    ArithmeticDecoder,
    ArithmeticEncoder,
    check_cdf,
)
from gmlib.coding.bitsback import bits_back_compress, bits_back_decompress
from gmlib.coding.compress import compress, decompress
from gmlib.coding.tables import ideal_code_length, probabilities_to_cdf

__all__ = ["MAX_TOTAL", "PRECISION", "ANSStack", "ArithmeticDecoder", "ArithmeticEncoder",
           "bits_back_compress", "bits_back_decompress", "check_cdf", "compress", "decompress",
           "ideal_code_length", "probabilities_to_cdf"]
