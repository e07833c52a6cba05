"""NADE: the neural autoregressive distribution estimator.

Every conditional is a one-hidden-layer network, and all of them share one weight matrix W:

    a_r = c + sum_{s<r} W[:, o_s] x_{o_s},   h_r = sigmoid(a_r),
    p(x_{o_r} = 1 | x_{o_<r}) = sigmoid(b_{o_r} + V[o_r] . h_r).

Because a_{r+1} = a_r + W[:, o_r] x_{o_r}, all D hidden vectors cost O(DH) together (a
cumulative sum), not O(D^2 H): the weight sharing is what makes NADE fast. Sampling keeps the
same running sum (`method="cached"`, the default): each step adds one column of W and reads
one conditional, O(H), so a whole sample costs O(DH) where D naive passes cost O(D^2 H).

References:
    Larochelle, Murray (2011), The Neural Autoregressive Distribution Estimator, AISTATS;
    Uria, Cote, Gregor, Murray, Larochelle (2016), Neural Autoregressive Distribution
    Estimation, JMLR 17, https://arxiv.org/abs/1605.02226
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.validation import check_int

__all__ = ["NADE", "nade_preactivations"]


def nade_preactivations(x_ordered: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """a_r = c + sum_{s<r} W[:, s] x_s for every position r, by one cumulative sum.

    Shapes:
        x_ordered: (B, D) values in generation order; weight: (H, D); bias: (H,)
        -> (B, D, H)
    """
    contributions = x_ordered.unsqueeze(-1) * weight.T  # (B, D, H): W[:, s] x_s
    before = torch.cumsum(contributions, 1) - contributions  # exclusive: s < r only
    return bias + before


class NADE(AutoregressiveModel):
    """NADE over D binary variables.

    Args:
        event_shape: number of inputs D, or the shape of one observation.
        hidden: H, the size of the shared hidden layer.
        order: the ordering of the chain rule ("natural", "random" or a permutation).

    Shapes:
        x: (B, *event_shape) binary -> log_prob (B,); conditional_logits: (B, D) -> (B, D)
    """

    binary_inputs_as_values = True

    def __init__(self, event_shape: int | Sequence[int], *, hidden: int = 100,
                 order: Sequence[int] | Tensor | str | None = None) -> None:
        super().__init__(event_shape, 2, order=order)
        check_int(hidden, "hidden", 1)
        self.W = nn.Parameter(torch.randn(hidden, self.n_dims) * self.n_dims ** -0.5)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(self.n_dims, hidden) * hidden ** -0.5)
        self.b = nn.Parameter(torch.zeros(self.n_dims))

    def conditional_logits(self, h: Tensor) -> Tensor:
        order = self.order
        hidden = torch.sigmoid(nade_preactivations(h[:, order], self.W[:, order], self.c))
        logits_ordered = self.b[order] + (hidden * self.V[order]).sum(-1)  # (B, D)
        return torch.empty_like(logits_ordered).index_copy(1, order, logits_ordered)

    def _start_cache(self, n: int) -> Tensor:
        """The running pre-activation before any variable is known: a_1 = c, shape (n, H)."""
        return self.c.expand(n, -1)

    def _cached_step(self, previous: Tensor | None, t: int, state: Any) -> tuple[Tensor, Any]:
        """Add the value just drawn, W[:, o_{t-1}] x_{o_{t-1}}, then read conditional o_t."""
        order = self.order
        a = state
        if previous is not None:
            a = a + previous.reshape(-1, 1) * self.W[:, int(order[t - 1])]  # O(H)
        i = int(order[t])
        return self.b[i] + torch.sigmoid(a) @ self.V[i], a  # (n,) Bernoulli logits
