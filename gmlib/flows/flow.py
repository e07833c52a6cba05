"""A normalizing flow: an invertible transform of a simple base distribution.

log p(x) = log p_Z(f(x)) + log |det df/dx|   (the change of variables), and a sample is
x = f^{-1}(z), z ~ p_Z. Inference is exact too: the latent code of x is f(x).

References:
    Rezende, Mohamed (2015). Variational inference with normalizing flows.
    https://arxiv.org/abs/1505.05770
    Papamakarios et al. (2021). Normalizing flows for probabilistic modeling and inference.
    https://arxiv.org/abs/1912.02762
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from gmlib.base import DensityModel
from gmlib.densities import LOG_2PI
from gmlib.flows.transform import Chain, Transform, sum_except_batch
from gmlib.validation import Support, check_nonnegative

__all__ = ["Flow", "StandardNormal"]


class StandardNormal(nn.Module):
    """N(0, I) over tensors of a given shape; the usual base distribution of a flow.

    Args:
        shape: the shape of one latent code.

    Shapes:
        log_prob: (B, *shape) -> (B,); sample: n -> (n, *shape)
    """

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.register_buffer("_anchor", torch.zeros(()))  # follows .to(device/dtype)

    def log_prob(self, z: Tensor) -> Tensor:
        return -0.5 * sum_except_batch(z**2) - 0.5 * math.prod(self.shape) * LOG_2PI

    def sample(self, n: int, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """n draws; `temperature` < 1 scales the standard deviation down (Glow's "T")."""
        check_nonnegative(temperature, "temperature")
        device = self._anchor.device if generator is None else generator.device
        z = torch.randn(n, *self.shape, generator=generator, device=device,
                        dtype=self._anchor.dtype)
        return temperature * z.to(self._anchor.device)


class Flow(DensityModel):
    """A density on R^D built from an invertible transform and a base distribution.

    Args:
        transforms: one `Transform`, or a sequence applied in order (data to noise).
        event_shape: the shape of one observation.
        base: the distribution of f(x); N(0, I) of the right shape by default. Anything with
            `log_prob(z) -> (B,)` and `sample(n)` will do.

    Shapes:
        log_prob: (B, *event_shape) -> (B,); sample: n -> (n, *event_shape);
        encode: x -> z of shape (B, *latent_shape)
    """

    def __init__(self, transforms: Transform | Iterable[Transform], event_shape: Sequence[int],
                 *, base: nn.Module | None = None) -> None:
        super().__init__(event_shape, Support.real())
        self.transform = transforms if isinstance(transforms, Chain) else Chain(
            [transforms] if isinstance(transforms, Transform) else transforms)
        self.latent_shape = self.transform.output_shape(self.event_shape)
        self.base = StandardNormal(self.latent_shape) if base is None else base

    def _log_prob(self, x: Tensor, **kwargs: object) -> Tensor:
        z, log_det = self.transform(x)
        return self.base.log_prob(z) + log_det

    @torch.no_grad()
    def initialize(self, x: Tensor) -> Flow:
        """Run one forward pass on a batch so that data-dependent layers (ActNorm) set their
        parameters from it (Kingma & Dhariwal 2018); returns the flow."""
        self.transform(self.validate_input(x))
        return self

    def encode(self, x: Tensor) -> Tensor:
        """The latent code z = f(x) (exact inference)."""
        return self.transform(self.validate_input(x))[0]

    def decode(self, z: Tensor) -> Tensor:
        """x = f^{-1}(z), for latent codes of shape (B, *latent_shape)."""
        if tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(f"z must have shape (B, {', '.join(map(str, self.latent_shape))});"
                             f" got {tuple(z.shape)}")
        return self.transform.inverse(z)

    def _sample(self, n: int, *, temperature: float = 1.0,
                generator: torch.Generator | None = None) -> Tensor:
        return self.transform.inverse(self.base.sample(n, temperature=temperature,
                                                       generator=generator))
