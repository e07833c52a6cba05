"""Fully visible sigmoid belief network: logistic-regression conditionals.

p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j): one logistic regression per variable on
the variables before it, D(D+1)/2 parameters in all. It is the simplest autoregressive model
and the starting point of NADE.

References:
    Neal (1992), Connectionist learning of belief networks, Artificial Intelligence 56;
    Frey, Hinton, Dayan (1996), Does the wake-sleep algorithm produce good density
    estimators?, NeurIPS.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.nn import MaskedLinear, made_masks

__all__ = ["FVSBN"]


class FVSBN(AutoregressiveModel):
    """Fully visible sigmoid belief network over D binary variables.

    Args:
        event_shape: number of inputs D, or the shape of one observation.
        order: the ordering of the chain rule ("natural", "random" or a permutation).

    Shapes:
        x: (B, *event_shape) binary -> log_prob (B,); conditional_logits: (B, D) -> (B, D)
    """

    binary_inputs_as_values = True

    def __init__(self, event_shape: int | Sequence[int], *,
                 order: Sequence[int] | Tensor | str | None = None) -> None:
        super().__init__(event_shape, 2, order=order)
        self.linear = MaskedLinear(self.n_dims, self.n_dims)
        # mask[i, j] = 1 iff j comes before i in the order: strictly "lower triangular"
        self.linear.set_mask(made_masks(self.order, [])[0])
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    @property
    def n_parameters(self) -> int:
        """Free parameters: D biases and D(D-1)/2 weights."""
        return self.n_dims * (self.n_dims + 1) // 2

    def conditional_logits(self, h: Tensor) -> Tensor:
        return self.linear(h)
