"""Network building blocks of the deep models: MLPs, masked, causal and residual layers, and
time-conditioned denoisers (a small U-Net and an MLP)."""

from __future__ import annotations

from gmlib.nn.causal import CausalConv1d, MaskedConv2d, pixelcnn_mask
from gmlib.nn.masked import MaskedLinear, made_degrees, made_masks, masks_from_degrees
from gmlib.nn.mlp import MLP, ConvDecoderNet
from gmlib.nn.resnet import ResidualConvNet
from gmlib.nn.unet import ConditionedMLP, SinusoidalEmbedding, UNet

__all__ = ["MLP", "CausalConv1d", "ConditionedMLP", "ConvDecoderNet", "MaskedConv2d",
           "MaskedLinear", "ResidualConvNet", "SinusoidalEmbedding", "UNet", "made_degrees",
           "made_masks", "masks_from_degrees", "pixelcnn_mask"]
