"""Network building blocks shared by the deep models: masked and causal layers."""

from __future__ import annotations

from gmlib.nn.causal import CausalConv1d, MaskedConv2d, pixelcnn_mask
from gmlib.nn.masked import MaskedLinear, made_degrees, made_masks

__all__ = ["CausalConv1d", "MaskedConv2d", "MaskedLinear", "made_degrees", "made_masks",
           "pixelcnn_mask"]
