"""Normalizing flows: invertible transforms, flows built from them, and dequantisation."""

from __future__ import annotations

from gmlib.flows.autoregressive import MaskedAutoregressive
from gmlib.flows.coupling import (
    AffineCoupling,
    SplineCoupling,
    channel_mask,
    checkerboard_mask,
    make_conditioner,
)
from gmlib.flows.dequantization import (
    DequantizedFlow,
    UniformDequantizer,
    VariationalDequantizer,
)
from gmlib.flows.elementwise import ElementwiseSpline, Logit
from gmlib.flows.flow import Flow, StandardNormal
from gmlib.flows.layers import ActNorm, FactorOut, InvertibleLinear, Squeeze
from gmlib.flows.models import MAF, Glow, RealNVP, SplineFlow
from gmlib.flows.spline import rational_quadratic_spline
from gmlib.flows.transform import Chain, Inverse, Transform

__all__ = ["MAF", "ActNorm", "AffineCoupling", "Chain", "DequantizedFlow", "ElementwiseSpline",
           "FactorOut", "Flow", "Glow", "Inverse", "InvertibleLinear", "Logit",
           "MaskedAutoregressive", "RealNVP", "SplineCoupling", "SplineFlow", "Squeeze",
           "StandardNormal", "Transform", "UniformDequantizer", "VariationalDequantizer",
           "channel_mask", "checkerboard_mask", "make_conditioner", "rational_quadratic_spline"]
