"""Masked linear layers and MADE's connectivity masks (Germain et al. 2015).

A MADE is an ordinary MLP whose weight matrices are multiplied by binary masks, chosen so that
output d is computed from inputs that come before d in an ordering. Every unit gets a
*degree*: input d has degree rank(d) + 1 (1..D), a hidden unit a degree m in 1..D-1 and may
see inputs of degree <= m; output d (degree rank(d) + 1) may see hidden units of degree < its
own. Composing the masks therefore connects output d only to inputs earlier in the ordering.

References:
    Germain, Gregor, Murray, Larochelle (2015), MADE: Masked Autoencoder for Distribution
    Estimation, https://arxiv.org/abs/1502.03509
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MaskedLinear", "made_degrees", "made_masks", "masks_from_degrees"]


class MaskedLinear(nn.Linear):
    """`nn.Linear` whose weight is multiplied by a fixed 0/1 mask (a buffer).

    Shapes:
        x: (..., in_features) -> (..., out_features); mask: (out_features, in_features)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def set_mask(self, mask: Tensor) -> None:
        """Replace the mask (shape (out_features, in_features), values 0/1)."""
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask must have shape {tuple(self.weight.shape)}; got "
                             f"{tuple(mask.shape)}")
        # a new tensor, not an in-place copy: a graph built with the old mask stays valid
        # (MADE switches masks between the members of an ensemble inside one loss)
        self.mask = mask.to(device=self.mask.device, dtype=self.mask.dtype).clone()

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_degrees(order: Tensor, hidden_sizes: Sequence[int], *,
                 generator: torch.Generator | None = None, random: bool = False) -> list[Tensor]:
    """Degrees of the input and hidden units of a MADE.

    Args:
        order: a permutation of 0..D-1; `order[r]` is the variable generated r-th.
        hidden_sizes: width of each hidden layer.
        random: draw hidden degrees uniformly in 1..D-1 (the paper's connectivity-agnostic
            training); otherwise cycle through 1..D-1 so every degree is represented.

    Returns:
        `[input_degrees (D,), hidden_degrees_1, ...]` as int64 tensors.
    """
    n_dims = len(order)
    inputs = torch.empty(n_dims, dtype=torch.long)
    inputs[order.long().cpu()] = torch.arange(1, n_dims + 1)
    degrees = [inputs]
    top = max(n_dims - 1, 1)
    for size in hidden_sizes:
        if random:
            # at least the smallest degree of the layer below, so no unit is dead
            low = int(degrees[-1].min()) if len(degrees) > 1 else 1
            hidden = torch.randint(min(low, top), top + 1, (size,), generator=generator)
        else:
            hidden = torch.arange(size) % top + 1
        degrees.append(hidden)
    return degrees


def made_masks(order: Tensor, hidden_sizes: Sequence[int], *,
               generator: torch.Generator | None = None, random: bool = False) -> list[Tensor]:
    """The masks of a MADE with the given ordering: one per layer, input to output.

    Returns:
        masks of shapes (H1, D), (H2, H1), ..., (D, H_last); the output mask connects output d
        to hidden units of degree < rank(d) + 1, so output d sees only earlier inputs.
    """
    return masks_from_degrees(made_degrees(order, hidden_sizes, generator=generator,
                                           random=random))


def masks_from_degrees(degrees: Sequence[Tensor]) -> list[Tensor]:
    """The masks that `made_masks` builds from `[input_degrees, hidden_degrees_1, ...]`.

    Returns:
        masks of shapes (H1, D), (H2, H1), ..., (D, H_last)
    """
    masks = [(d_out[:, None] >= d_in[None, :]).float()
             for d_in, d_out in itertools.pairwise(degrees)]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks
