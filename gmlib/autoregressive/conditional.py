"""A PixelCNN conditioned on an image-shaped control signal y: p(x | y) = prod_i p(x_i | x_<i, y).

The conditional PixelCNN of van den Oord et al. (2016, eq. 4 with a spatial condition) adds
V * y to the pre-activations of every gated unit, tanh(W * x + V_f * y) * sigmoid(... + V_g * y),
where V is an ordinary (unmasked) 3 x 3 convolution: y is given, so every pixel may see all of
it. One architecture covers the control signals of lecture 13, stacked as channels of y:

* a class label: its one-hot code broadcast over the image (10 channels);
* a low-resolution image for super-resolution, upsampled to the full size (1 channel);
* a partly observed image for inpainting: the observed values and the mask (2 channels);
* a binarised image, to generate the grey levels it came from.

Every method takes the condition as `c=` (B, C, H, W): `log_prob(x, c=y)`, `loss(x, c=y)`
(so `gmlib.train.fit(model, (x, y))` trains it), `sample(n, c=y)` (one sample per row of y)
and `complete(x, n_known, c=y)`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from gmlib.autoregressive.pixelcnn import PixelCNN
from gmlib.exceptions import ConditionError
from gmlib.validation import check_int, check_tensor

__all__ = ["ConditionalPixelCNN"]


class ConditionalPixelCNN(PixelCNN):
    """Gated PixelCNN p(x | y) for a conditioning image y with `cond_channels` channels.

    Args:
        image_shape, n_levels, channels, n_layers, kernel_size, first_kernel_size, dropout:
            as for `PixelCNN` (always gated).
        cond_channels: C, channels of the condition y.

    Shapes:
        x: (B, *image_shape), c: (B, C, H, W) -> log_prob (B,); sample(n, c=y) with y of
        batch n (or 1, shared) -> (n, *image_shape)
    """

    def __init__(self, image_shape: int | Sequence[int], n_levels: int = 2, *,
                 cond_channels: int, channels: int = 64, n_layers: int = 5,
                 kernel_size: int = 3, first_kernel_size: int = 5,
                 dropout: float = 0.0) -> None:
        super().__init__(image_shape, n_levels, channels=channels, n_layers=n_layers,
                         kernel_size=kernel_size, first_kernel_size=first_kernel_size,
                         gated=True, dropout=dropout)
        self.cond_channels = check_int(cond_channels, "cond_channels", 1)
        # one 3x3 convolution per layer gives both stacks' terms (2 x 2C channels)
        self.cond_convs = nn.ModuleList(
            nn.Conv2d(cond_channels, 4 * channels, 3, padding=1) for _ in self.layers)
        self._condition: Tensor | None = None

    def _check_condition(self, c: Tensor | None, batch: int) -> Tensor:
        if c is None:
            raise ConditionError(f"{type(self).__name__} needs its condition: pass c= a tensor "
                            f"(B, {self.cond_channels}, {self.height}, {self.width})")
        check_tensor(c, "c")
        expected = (self.cond_channels, self.height, self.width)
        if c.dim() != 4 or tuple(c.shape[1:]) != expected or c.shape[0] not in (1, batch):
            raise ValueError(f"c must have shape ({batch}, {', '.join(map(str, expected))}) "
                             f"(or batch 1, shared); got {tuple(c.shape)}")
        return c.to(self.device, self.dtype).expand(batch, *expected)

    @contextmanager
    def _conditioned(self, c: Tensor | None, batch: int) -> Iterator[None]:
        """Make `conditional_logits` see y (the base class's samplers call it without c)."""
        self._condition = self._check_condition(c, batch)
        try:
            yield
        finally:
            self._condition = None

    def _layer_condition(self, index: int, batch: int) -> tuple[Tensor, Tensor] | None:
        if self._condition is None:
            raise RuntimeError("the condition is only set inside log_prob, sample or complete")
        if self._condition.shape[0] != batch:
            raise ValueError(f"the condition has batch {self._condition.shape[0]}; the "
                             f"input {batch}")
        terms = self.cond_convs[index](self._condition)
        return terms.chunk(2, dim=1)

    def _log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:  # type: ignore[override]
        with self._conditioned(c, x.shape[0]):
            return super()._log_prob(x)

    @property
    def is_conditional(self) -> bool:
        return True

    def conditionals(self, n: int, c: Tensor | None = None, *,  # type: ignore[override]
                     method: str | None = None
                     ) -> Generator[tuple[int, Tensor], Tensor, Tensor]:
        """`AutoregressiveModel.conditionals` given the condition y (`c`).

        The condition is held by the model while the walk runs, so one walk runs at a time:
        starting another with its own `c` before the first finished is a RuntimeError.
        """
        if c is None and self._condition is not None:  # inside sample/complete: already set
            return (yield from super().conditionals(n, method=method))
        if self._condition is not None:
            raise RuntimeError(f"{type(self).__name__} is already walking its conditionals "
                               "under another condition; finish (or close) that walk first")
        with self._conditioned(c, n):
            return (yield from super().conditionals(n, method=method))

    def _sample(self, n: int, c: Tensor | None = None, *,  # type: ignore[override]
                method: str | None = None, generator: torch.Generator | None = None) -> Tensor:
        with self._conditioned(c, n):
            return super()._sample(n, method=method, generator=generator)

    def complete(self, x: Tensor, n_known: int, *, c: Tensor | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        """`AutoregressiveModel.complete` given the condition y."""
        with self._conditioned(c, x.shape[0]):
            return super().complete(x, n_known, generator=generator)

    def inpaint(self, x: Tensor, mask: Tensor, *, c: Tensor | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """`AutoregressiveModel.inpaint` given the condition y (which should carry the
        kept values and the mask, so the kept values after a missing one are seen)."""
        with self._conditioned(c, x.shape[0]):
            return super().inpaint(x, mask, generator=generator)
