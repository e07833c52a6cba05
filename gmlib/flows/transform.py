"""The invertible-transform interface of the flows, and the ways to combine transforms.

A normalizing flow is a chain of invertible maps z = f_K(...f_1(x)). By the change of
variables, log p(x) = log p_Z(f(x)) + sum_k log |det J_{f_k}|, so every transform returns its
output *and* the log-absolute-determinant of its Jacobian, one value per example. The
direction is the density direction (data to noise), as in Dinh et al. (2017): `forward` is
what `log_prob` runs, `inverse` is what `sample` runs.

References:
    Dinh, Sohl-Dickstein, Bengio (2017). Density estimation using Real NVP.
    https://arxiv.org/abs/1605.08803
    Papamakarios et al. (2021). Normalizing flows for probabilistic modeling and inference.
    https://arxiv.org/abs/1912.02762
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import Tensor, nn

__all__ = ["Chain", "Inverse", "Transform", "sum_except_batch"]


def sum_except_batch(x: Tensor) -> Tensor:
    """Sum over every dimension but the first: (B, ...) -> (B,)."""
    return x.reshape(x.shape[0], -1).sum(1)


class Transform(nn.Module):
    """An invertible map with a tractable Jacobian determinant.

    Subclasses implement `forward` and `inverse_and_log_det`; both take an optional
    `context` (a conditioning tensor with the batch first) that only conditional transforms
    read.

    Shapes:
        forward: x (B, *shape) -> z (B, *output_shape(shape)), log_abs_det (B,)
        inverse: z -> x
    """

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """z = f(x) and log |det df/dx| per example."""
        raise NotImplementedError

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x = f^{-1}(z) and log |det df^{-1}/dz| per example (minus the forward one at x)."""
        raise NotImplementedError

    def inverse(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        """x = f^{-1}(z)."""
        return self.inverse_and_log_det(z, context)[0]

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The shape of one output given the shape of one input (the same, unless reshaping)."""
        return tuple(shape)

    def input_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The shape of one input given the shape of one output (`output_shape` undone)."""
        return tuple(shape)


class Inverse(Transform):
    """The inverse of a transform, e.g. `Inverse(Squeeze())` un-squeezes."""

    def __init__(self, transform: Transform) -> None:
        super().__init__()
        self.transform = transform

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.transform.inverse_and_log_det(x, context)

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.transform(z, context)

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self.transform.input_shape(shape)

    def input_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return self.transform.output_shape(shape)


class Chain(Transform):
    """Transforms applied one after the other; the log-determinants add up.

    Args:
        transforms: f_1, ..., f_K, in the data-to-noise order.
    """

    def __init__(self, transforms: Iterable[Transform]) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(transforms)
        for i, t in enumerate(self.transforms):
            if not isinstance(t, Transform):
                raise TypeError(f"transforms[{i}] must be a gmlib.flows Transform; got "
                                f"{type(t).__name__}")

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Transform:
        return self.transforms[index]

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        for t in self.transforms:
            x, log_det = t(x, context)
            total = total + log_det
        return x, total

    def inverse_and_log_det(self, z: Tensor,
                            context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = z.new_zeros(z.shape[0])
        for t in reversed(self.transforms):
            z, log_det = t.inverse_and_log_det(z, context)
            total = total + log_det
        return z, total

    def trace(self, x: Tensor, context: Tensor | None = None) -> list[Tensor]:
        """The input and the output of every transform: [x, f_1(x), f_2(f_1(x)), ...].

        For pictures of what each layer does to the data (lecture 08).
        """
        steps = [x]
        for t in self.transforms:
            x = t(x, context)[0]
            steps.append(x)
        return steps

    def output_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(shape)
        for t in self.transforms:
            shape = t.output_shape(shape)
        return shape

    def input_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(shape)
        for t in reversed(self.transforms):
            shape = t.input_shape(shape)
        return shape
