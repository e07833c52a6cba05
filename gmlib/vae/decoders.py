"""Decoders p(x | z): networks that return a torch distribution over one observation.

Every decoder factorises over pixels given z, p(x | z) = prod_i p(x_i | z), and differs in the
distribution of one pixel:

* `BernoulliDecoder`: binary pixels, one logit each.
* `CategoricalDecoder`: K grey levels. `parameterization="free"` gives each level its own
  logit (K outputs a pixel); `"logistic"` is the discretised logistic of Salimans et al.
  (2017): two outputs a pixel (a location and a scale on the grey scale), so neighbouring
  levels get similar probabilities. With 1000 training images the ordinal form overfits far
  less.
* `GaussianDecoder`: real values, with a scale that is fixed, shared by all pixels (as in
  PPCA) or output by the network.

The network may return the parameters flat, (B, P * D), or as an image, (B, P, H, W) for a
one-channel event shape (1, H, W) (a convolutional decoder), where P is the number of
parameters a pixel.

References:
    Salimans, Karpathy, Chen, Kingma (2017), PixelCNN++, https://arxiv.org/abs/1701.05517
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Categorical, Distribution, Independent, Normal

from gmlib.validation import Support, check_int

__all__ = ["BernoulliDecoder", "CategoricalDecoder", "Decoder", "GaussianDecoder",
           "discretized_logistic_log_probs", "expected_value"]


def discretized_logistic_log_probs(loc: Tensor, log_scale: Tensor, n_levels: int) -> Tensor:
    """log P(x = k) for k = 0..K-1 under a logistic(loc, scale) rounded to the nearest level.

    P(k) = sigma((k + 1/2 - loc) / s) - sigma((k - 1/2 - loc) / s), with the end levels
    taking the tails: P(0) = sigma((1/2 - loc) / s), P(K-1) = 1 - sigma((K - 3/2 - loc) / s).
    Written as log sigma(a) + log sigma(-b) + log(1 - exp(-(a - b))) with a - b = 1/s, which
    is finite for every loc and s (no difference of two nearly equal numbers).

    Shapes:
        loc, log_scale: (...,) -> (..., K), each row summing to one in probability
    """
    levels = torch.arange(n_levels, device=loc.device, dtype=loc.dtype)
    inv_scale = torch.exp(-log_scale)[..., None]
    upper = (levels + 0.5 - loc[..., None]) * inv_scale  # a_k
    lower = (levels - 0.5 - loc[..., None]) * inv_scale  # b_k
    middle = F.logsigmoid(upper) + F.logsigmoid(-lower) + torch.log(-torch.expm1(-inv_scale))
    first = F.logsigmoid(upper[..., :1])
    last = F.logsigmoid(-lower[..., -1:])
    return torch.cat([first, middle[..., 1:-1], last], dim=-1)


def expected_value(dist: Distribution) -> Tensor:
    """E[x] of a decoder's distribution; for levels, the probability-weighted mean level.

    torch's `Categorical.mean` is undefined (NaN), but for grey levels the mean level is the
    natural "average image" to display.
    """
    base = dist.base_dist if isinstance(dist, Independent) else dist
    if isinstance(base, Categorical):
        levels = torch.arange(base.probs.shape[-1], device=base.probs.device,
                              dtype=base.probs.dtype)
        return (base.probs * levels).sum(-1)
    return dist.mean


class Decoder(nn.Module):
    """Shared plumbing: concatenate z with an optional context, run the net, reshape.

    Subclasses set `params_per_value` (P) and `support`, and build the distribution from the
    parameters shaped (..., *event_shape, P).
    """

    params_per_value = 1

    def __init__(self, net: nn.Module, event_shape: Sequence[int], support: Support) -> None:
        super().__init__()
        self.net, self.event_shape, self.support = net, tuple(int(s) for s in event_shape), support
        self.n_values = math.prod(self.event_shape)

    def parameters_for(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        """The net's output for codes z (..., L), shaped (..., *event_shape, P)."""
        lead = z.shape[:-1]
        h = z
        if context is not None:
            h = torch.cat([z, context.to(z.dtype).expand(*lead, context.shape[-1])], dim=-1)
        out = self.net(h.reshape(-1, h.shape[-1]))
        return self._per_value(out).reshape(*lead, *self.event_shape, self.params_per_value)

    def _per_value(self, out: Tensor) -> Tensor:
        p, shape = self.params_per_value, self.event_shape
        if out.dim() == 2 and out.shape[1] == p * self.n_values:
            return out.view(len(out), *shape, p)
        if len(shape) == 3 and shape[0] == 1 and tuple(out.shape[1:]) == (p, *shape[1:]):
            return out.movedim(1, -1).unsqueeze(1)  # (B, P, H, W) -> (B, 1, H, W, P)
        image = f" or (B, {p}, {shape[1]}, {shape[2]})" if len(shape) == 3 and shape[0] == 1 \
            else ""
        raise ValueError(f"{type(self).__name__}'s net must return (B, {p * self.n_values})"
                         f"{image} for event shape {shape}; got {tuple(out.shape)}")

    def forward(self, z: Tensor, context: Tensor | None = None) -> Distribution:
        """p(x | z), batch shape z.shape[:-1], event shape `event_shape`."""
        return Independent(self.distribution(self.parameters_for(z, context)),
                           len(self.event_shape))

    def distribution(self, params: Tensor) -> Distribution:
        raise NotImplementedError


class BernoulliDecoder(Decoder):
    """p(x_i | z) = Bernoulli(sigmoid(logit_i(z))) for binary pixels."""

    def __init__(self, net: nn.Module, event_shape: Sequence[int]) -> None:
        super().__init__(net, event_shape, Support.binary())

    def distribution(self, params: Tensor) -> Distribution:
        return Bernoulli(logits=params[..., 0], validate_args=False)


class CategoricalDecoder(Decoder):
    """p(x_i | z) over the levels 0..K-1, free logits or a discretised logistic.

    Args:
        net: returns K values a pixel ("free") or 2 ("logistic": location, log scale).
        event_shape: shape of one observation.
        n_levels: K.
        parameterization: "free" or "logistic".
    """

    def __init__(self, net: nn.Module, event_shape: Sequence[int], n_levels: int, *,
                 parameterization: str = "free") -> None:
        check_int(n_levels, "n_levels", 2)
        if parameterization not in ("free", "logistic"):
            raise ValueError("parameterization must be 'free' or 'logistic'; got "
                             f"{parameterization!r}")
        super().__init__(net, event_shape, Support.levels(n_levels))
        self.n_levels, self.parameterization = n_levels, parameterization
        self.params_per_value = n_levels if parameterization == "free" else 2

    def distribution(self, params: Tensor) -> Distribution:
        if self.parameterization == "free":
            return Categorical(logits=params, validate_args=False)
        # the net's raw outputs are of order one: centre the location on the grey scale,
        # and keep the scale within [e^-3, e^5] levels so a pixel never becomes a spike
        half = (self.n_levels - 1) / 2
        loc = half + half * params[..., 0]
        log_scale = 1.0 + params[..., 1].clamp(-4.0, 4.0)
        return Categorical(logits=discretized_logistic_log_probs(loc, log_scale, self.n_levels),
                           validate_args=False)


class GaussianDecoder(Decoder):
    """p(x_i | z) = N(mu_i(z), sigma^2) for real values.

    Args:
        net: returns one value a pixel (the mean), or two when `scale="output"`.
        scale: a float (fixed sigma), "shared" (one learned sigma for every pixel, as in
            PPCA), or "output" (the net returns log sigma per pixel too).
    """

    def __init__(self, net: nn.Module, event_shape: Sequence[int], *,
                 scale: float | str = "shared") -> None:
        super().__init__(net, event_shape, Support.real())
        if isinstance(scale, str) and scale not in ("shared", "output"):
            raise ValueError(f"scale must be a positive float, 'shared' or 'output'; got {scale!r}")
        if not isinstance(scale, str) and not float(scale) > 0:
            raise ValueError(f"scale must be a positive float, 'shared' or 'output'; got {scale!r}")
        self.scale_mode = scale if isinstance(scale, str) else "fixed"
        self.params_per_value = 2 if scale == "output" else 1
        log_scale = torch.tensor(0.0 if isinstance(scale, str) else math.log(float(scale)))
        if self.scale_mode == "shared":
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    def distribution(self, params: Tensor) -> Distribution:
        mean = params[..., 0]
        log_scale = params[..., 1] if self.scale_mode == "output" else self.log_scale
        return Normal(mean, torch.exp(log_scale).expand_as(mean), validate_args=False)
