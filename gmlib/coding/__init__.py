"""Lossless compression with generative models (lecture 14).

* `arithmetic`: the arithmetic coder over integer frequency tables (no model inside).
* `tables`: a model's probabilities quantised to those tables, and the ideal code length.
* `compress`: `compress(model, x)` and `decompress(model, data)` for autoregressive and
  per-pixel models.
"""

from __future__ import annotations

from gmlib.coding.arithmetic import (
    MAX_TOTAL,
    PRECISION,
    ArithmeticDecoder,
    ArithmeticEncoder,
    check_cdf,
)
from gmlib.coding.compress import compress, decompress
from gmlib.coding.tables import ideal_code_length, probabilities_to_cdf

__all__ = ["MAX_TOTAL", "PRECISION", "ArithmeticDecoder", "ArithmeticEncoder", "check_cdf",
           "compress", "decompress", "ideal_code_length", "probabilities_to_cdf"]
