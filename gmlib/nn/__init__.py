"""Network building blocks of the deep models: MLPs, masked, causal and residual layers."""

from __future__ import annotations

from gmlib.nn.causal import CausalConv1d, MaskedConv2d, pixelcnn_mask
from gmlib.nn.masked import MaskedLinear, made_degrees, made_masks
from gmlib.nn.mlp import MLP, ConvDecoderNet
from gmlib.nn.resnet import ResidualConvNet

__all__ = ["MLP", "CausalConv1d", "ConvDecoderNet", "MaskedConv2d", "MaskedLinear",
           "ResidualConvNet", "made_degrees", "made_masks", "pixelcnn_mask"]
