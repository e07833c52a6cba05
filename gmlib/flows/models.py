"""Ready-made flows assembled from the transforms: RealNVP, Glow and a neural spline flow.

* `RealNVP`: affine couplings. On vectors, masks alternate between the two halves of the
  coordinates; on images, the multi-scale architecture of Dinh et al. (2017): at each scale
  three checkerboard couplings, a squeeze, three channel couplings, then half the channels
  are factored out; the last scale ends with checkerboard couplings.
* `Glow`: at each scale a squeeze, then steps of ActNorm -> invertible 1x1 convolution ->
  affine coupling on a channel mask, then half the channels are factored out.
* `SplineFlow`: rational-quadratic spline couplings on vectors, for 2-D densities.
* `MAF`: masked autoregressive layers on vectors, each in the reverse order of the last.

Each takes `logit_bound=K` to start with `Logit(K)`: the flow's density then lives on
[0, K)^D, which is what `DequantizedFlow` needs for K-level data.

References:
    Dinh, Sohl-Dickstein, Bengio (2017). Density estimation using Real NVP.
    https://arxiv.org/abs/1605.08803
    Kingma, Dhariwal (2018). Glow: generative flow with invertible 1x1 convolutions.
    https://arxiv.org/abs/1807.03039
    Durkan, Bekasov, Murray, Papamakarios (2019). Neural spline flows.
    https://arxiv.org/abs/1906.04032
    Papamakarios, Pavlakou, Murray (2017). Masked autoregressive flow for density
    estimation. https://arxiv.org/abs/1705.07057
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gmlib.flows.autoregressive import MaskedAutoregressive
from gmlib.flows.coupling import (
    AffineCoupling,
    SplineCoupling,
    channel_mask,
    checkerboard_mask,
    make_conditioner,
)
from gmlib.flows.elementwise import Logit
from gmlib.flows.flow import Flow
from gmlib.flows.layers import ActNorm, FactorOut, InvertibleLinear, Squeeze
from gmlib.flows.spline import spline_param_count
from gmlib.flows.transform import Chain, Inverse, Transform
from gmlib.validation import check_positive_int

__all__ = ["MAF", "Glow", "RealNVP", "SplineFlow"]


def _shape(event_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in event_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(f"event_shape must be (D,) or (C, H, W); got {shape}")
    return shape


def _preprocess(logit_bound: float | None) -> list[Transform]:
    return [] if logit_bound is None else [Logit(logit_bound)]


def _check_scales(shape: tuple[int, ...], n_scales: int) -> None:
    side = 2 ** n_scales
    if shape[1] % side or shape[2] % side:
        raise ValueError(f"{n_scales} scales halve H and W {n_scales} times, so they must be "
                         f"multiples of {side}; got event shape {shape}")


class RealNVP(Flow):
    """Affine coupling flow (Dinh et al. 2017), for vectors or multi-scale on images.

    Args:
        event_shape: (D,) or (C, H, W).
        n_layers: couplings on vectors, or couplings per mask type and scale on images.
        n_scales: the image scales (each halves H and W); ignored for vectors.
        hidden: conditioner width (channels for images).
        n_blocks: conditioner hidden layers (MLP) or residual blocks (conv).
        dropout: dropout in the conditioners.
        actnorm: put an ActNorm before every coupling (RealNVP used batch norm there).
        logit_bound: start with `Logit(logit_bound)` for data in [0, logit_bound)^D.
    """

    def __init__(self, event_shape: Sequence[int], *, n_layers: int = 3, n_scales: int = 2,
                 hidden: int = 64, n_blocks: int = 2, dropout: float = 0.0,
                 actnorm: bool = True, logit_bound: float | None = None) -> None:
        shape = _shape(event_shape)
        check_positive_int(n_layers, "n_layers")
        config = {"hidden": hidden, "n_layers": n_blocks, "dropout": dropout}

        def couplings(shape: tuple[int, ...], mask_fn: object, n: int) -> list[Transform]:
            out: list[Transform] = []
            for i in range(n):
                if actnorm:
                    out.append(ActNorm(shape[0]))
                out.append(AffineCoupling(mask_fn(shape, i % 2),  # type: ignore[operator]
                                          make_conditioner(shape, 2, **config)))
            return out

        if len(shape) == 1:
            body: list[Transform] = couplings(shape, checkerboard_mask, n_layers)
        else:
            check_positive_int(n_scales, "n_scales")
            _check_scales(shape, n_scales)

            def scale(shape: tuple[int, ...], level: int) -> list[Transform]:
                if level == n_scales:  # the coarsest scale: checkerboard couplings only,
                    # or channel ones once a single pixel is left
                    last = checkerboard_mask if shape[1] * shape[2] > 1 else channel_mask
                    return couplings(shape, last, n_layers + 1)
                squeezed = Squeeze().output_shape(shape)
                half = squeezed[0] // 2
                rest = scale((squeezed[0] - half, *squeezed[1:]), level + 1)
                return [*couplings(shape, checkerboard_mask, n_layers), Squeeze(),
                        *couplings(squeezed, channel_mask, n_layers),
                        FactorOut(Chain(rest), half), Inverse(Squeeze())]

            body = scale(shape, 0)
        super().__init__([*_preprocess(logit_bound), *body], shape)


class Glow(Flow):
    """Multi-scale Glow (Kingma & Dhariwal 2018): squeeze, K steps of flow, split, repeat.

    A step of flow is ActNorm -> invertible 1x1 convolution -> affine coupling (channel mask).

    Args:
        event_shape: (C, H, W).
        n_scales: L, the levels (each squeezes once).
        n_steps: K, steps of flow per level.
        hidden: conditioner channels.
        n_blocks: residual blocks per conditioner.
        dropout: dropout in the conditioners.
        logit_bound: start with `Logit(logit_bound)` for data in [0, logit_bound)^D.
        seed: seed of the 1x1 convolutions' random rotations.
    """

    def __init__(self, event_shape: Sequence[int], *, n_scales: int = 2, n_steps: int = 4,
                 hidden: int = 64, n_blocks: int = 1, dropout: float = 0.0,
                 logit_bound: float | None = None, seed: int | None = None) -> None:
        shape = _shape(event_shape)
        if len(shape) != 3:
            raise ValueError(f"Glow needs an image event shape (C, H, W); got {shape}")
        check_positive_int(n_steps, "n_steps")
        check_positive_int(n_scales, "n_scales")
        _check_scales(shape, n_scales)

        def level(shape: tuple[int, ...], depth: int) -> list[Transform]:
            squeezed = Squeeze().output_shape(shape)
            steps: list[Transform] = [Squeeze()]
            for i in range(n_steps):
                steps += [ActNorm(squeezed[0]),
                          InvertibleLinear(squeezed[0], seed=None if seed is None
                                           else seed + 100 * depth + i),
                          AffineCoupling(channel_mask(squeezed, i % 2),
                                         make_conditioner(squeezed, 2, hidden=hidden,
                                                          n_layers=n_blocks,
                                                          dropout=dropout))]
            if depth + 1 < n_scales:
                half = squeezed[0] // 2
                rest = level((squeezed[0] - half, *squeezed[1:]), depth + 1)
                steps.append(FactorOut(Chain(rest), half))
            return [*steps, Inverse(Squeeze())]

        super().__init__([*_preprocess(logit_bound), *level(shape, 0)], shape)


class SplineFlow(Flow):
    """Rational-quadratic spline couplings on vectors, alternating halves (Durkan et al. 2019).

    Args:
        dim: D.
        n_layers: couplings.
        hidden: conditioner width.
        n_blocks: conditioner hidden layers.
        n_bins: spline pieces.
        bound: the spline acts on [-bound, bound]; the identity outside.
    """

    def __init__(self, dim: int, *, n_layers: int = 4, hidden: int = 64, n_blocks: int = 2,
                 n_bins: int = 8, bound: float = 4.0) -> None:
        shape = (check_positive_int(dim, "dim"),)
        if dim < 2:
            raise ValueError(f"a coupling flow needs dim >= 2; got {dim}")
        layers: list[Transform] = []
        for i in range(n_layers):
            layers.append(SplineCoupling(
                checkerboard_mask(shape, i % 2),
                make_conditioner(shape, spline_param_count(n_bins), hidden=hidden,
                                 n_layers=n_blocks), n_bins=n_bins, bound=bound))
        super().__init__(layers, shape)


class MAF(Flow):
    """Masked autoregressive flow (Papamakarios et al. 2017) on vectors.

    Layers alternate between the order 0..D-1 and its reverse, with an ActNorm before each,
    so every variable is conditioned on every other one somewhere in the stack.

    Args:
        dim: D.
        n_layers: MADE layers.
        hidden_sizes: widths of each MADE.
        logit_bound: start with `Logit(logit_bound)` for data in [0, logit_bound)^D.
    """

    def __init__(self, dim: int, *, n_layers: int = 5, hidden_sizes: Sequence[int] = (64, 64),
                 logit_bound: float | None = None) -> None:
        check_positive_int(n_layers, "n_layers")
        forward_order = torch.arange(check_positive_int(dim, "dim"))
        layers: list[Transform] = []
        for i in range(n_layers):
            order = forward_order if i % 2 == 0 else forward_order.flip(0)
            layers += [ActNorm(dim),
                       MaskedAutoregressive(dim, hidden_sizes=hidden_sizes, order=order)]
        super().__init__([*_preprocess(logit_bound), *layers], (dim,))
