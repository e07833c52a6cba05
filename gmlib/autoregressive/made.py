"""MADE: an MLP made autoregressive by masking its weights, with ensembles of orderings.

Masks (see `gmlib.nn.made_masks`) cut every path from input j to output i unless j comes
before i in an ordering, so one pass of an ordinary MLP gives all D conditionals. A MADE can
hold several masks (orderings and hidden connectivities). Trained order-agnostically, each
mini-batch uses one of them at random; at test time the model is the uniform mixture of the
M autoregressive models, p(x) = (1/M) sum_m p_m(x), which is exactly normalised and usually
better than any single member.

Sampling need not cost D full passes. A hidden unit of degree m depends only on the inputs of
rank <= m, so once those are drawn it can be computed, once, and never again: the
degree-cached sampler (`method="cached"`, the default) computes at step m the units of degree
m in every layer and reads one output. Every unit is computed once, so a whole sample costs
about one forward pass instead of D.

References:
    Germain, Gregor, Murray, Larochelle (2015), MADE: Masked Autoencoder for Distribution
    Estimation, ICML, https://arxiv.org/abs/1502.03509;
    Uria, Murray, Larochelle (2014), A Deep and Tractable Density Estimator, ICML
    (order-agnostic training).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel, as_event_shape, check_order
from gmlib.nn import MaskedLinear, made_degrees, masks_from_degrees
from gmlib.utils import logmeanexp
from gmlib.validation import check_int

__all__ = ["MADE"]


class MADE(AutoregressiveModel):
    """Masked autoencoder for distribution estimation over D variables with K levels.

    Args:
        event_shape: number of inputs D, or the shape of one observation.
        n_levels: K (2 for binary data; then one logit per variable).
        hidden_sizes: widths of the hidden layers.
        n_masks: M, the number of orderings/connectivities held (1 = a single MADE).
        order: the first mask's ordering ("natural", "random" or a permutation); masks
            2..M use random orderings.
        random_connectivity: draw hidden degrees at random (the paper's variant) instead of
            cycling through 1..D-1.
        seed: seeds the random orderings and degrees, so a MADE is reproducible.

    Shapes:
        x: (B, *event_shape) -> log_prob (B,); conditional_logits: (B, D) or (B, D, K)
        -> (B, D) (K = 2) or (B, D, K)

    Examples:
        >>> import torch
        >>> from gmlib.data import digits
        >>> from gmlib.train import fit
        >>> model = MADE((1, 8, 8), 2, hidden_sizes=(64,))
        >>> history = fit(model, digits("train", binarize=True), epochs=3, seed=0)
        >>> with torch.no_grad():
        ...     nll = -model.log_prob(digits("test", binarize=True)).mean()
        >>> bool(nll < 44.4)  # better than 64 fair coins after three epochs
        True
    """

    binary_inputs_as_values = True

    def __init__(self, event_shape: int | Sequence[int], n_levels: int = 2, *,
                 hidden_sizes: Sequence[int] = (256,), n_masks: int = 1,
                 order: Sequence[int] | Tensor | str | None = None,
                 random_connectivity: bool = False, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)  # every random ordering comes from it
        n_dims = math.prod(as_event_shape(event_shape))
        super().__init__(event_shape, n_levels, order=check_order(order, n_dims, generator=gen))
        check_int(n_masks, "n_masks", 1)
        hidden_sizes = [check_int(h, "hidden_sizes[i]", 1) for h in hidden_sizes]
        self.n_masks = n_masks
        orders = [self.order] + [check_order("random", self.n_dims, generator=gen)
                                 for _ in range(n_masks - 1)]
        per_degrees = [made_degrees(o, hidden_sizes, generator=gen, random=random_connectivity)
                       for o in orders]
        per_mask = [masks_from_degrees(degrees) for degrees in per_degrees]
        # the hidden units' degrees, per mask and layer, for the degree-cached sampler (not
        # saved: they are rebuilt from the seed like the masks)
        for layer in range(len(hidden_sizes)):
            self.register_buffer(f"degrees_{layer}", torch.stack(
                [degrees[layer + 1] for degrees in per_degrees]), persistent=False)
        # (M, D) orderings and, per layer, (M, out, in) masks; inputs/outputs carry K values
        # per variable (one when K = 2), so their masks repeat each variable's row/column
        self.register_buffer("orders", torch.stack(orders))
        per_variable = 1 if n_levels == 2 else n_levels
        sizes = [self.n_dims * per_variable, *hidden_sizes, self.n_dims * per_variable]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in itertools.pairwise(sizes))
        for index in range(len(self.layers)):
            stacked = torch.stack([masks[index] for masks in per_mask])
            if index == 0:
                stacked = stacked.repeat_interleave(per_variable, dim=2)
            if index == len(self.layers) - 1:
                stacked = stacked.repeat_interleave(per_variable, dim=1)
            self.register_buffer(f"masks_{index}", stacked)
        self.mask_index = 0
        self.use_mask(0)

    def use_mask(self, index: int) -> None:
        """Switch every layer to mask `index` (its ordering becomes `self.order`)."""
        if not 0 <= index < self.n_masks:
            raise ValueError(f"mask index must be in 0..{self.n_masks - 1}; got {index!r}")
        self.mask_index = index
        for layer_index, layer in enumerate(self.layers):
            layer.set_mask(getattr(self, f"masks_{layer_index}")[index])
        self.order.copy_(self.orders[index])

    def conditional_logits(self, h: Tensor) -> Tensor:
        z = h.flatten(1)
        for layer in self.layers[:-1]:
            z = torch.relu(layer(z))
        out = self.layers[-1](z)
        return out if self.n_levels == 2 else out.view(h.shape[0], self.n_dims, self.n_levels)

    def _log_prob(self, x: Tensor) -> Tensor:
        """The ensemble: log of the mean of the M members' probabilities."""
        flat = x.reshape(x.shape[0], self.n_dims)
        current = self.mask_index
        members = []
        for index in range(self.n_masks):
            self.use_mask(index)
            members.append(self.log_prob_flat(flat))
        self.use_mask(current)
        return logmeanexp(torch.stack(members, -1), dim=-1)

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Order-agnostic training: in train mode, -log p under one random mask per call;
        in eval mode, -log p of the ensemble."""
        self.check_condition(c)
        if not self.training or self.n_masks == 1:
            return -self.log_prob(x)
        x = self.validate_input(x)
        self.use_mask(int(torch.randint(self.n_masks, ())))
        return -self.log_prob_flat(x.reshape(x.shape[0], self.n_dims))

    def _sample(self, n: int, *, method: str | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """A mixture sample: each sample picks a member uniformly, then follows its order.

        The members are drawn from `generator` first, so the naive and the cached sampler
        given the same generator return the same samples.
        """
        member = torch.randint(self.n_masks, (n,), generator=generator)
        x = torch.zeros(n, *self.event_shape, dtype=self.dtype, device=self.device)
        current = self.mask_index
        for index in range(self.n_masks):
            chosen = (member == index).to(self.device)
            if bool(chosen.any()):
                self.use_mask(index)
                x[chosen] = super()._sample(int(chosen.sum()), method=method,
                                            generator=generator)
        self.use_mask(current)
        return x

    def _start_cache(self, n: int) -> dict[str, Any]:
        """Empty inputs and hidden layers, the masked weights, and the current degrees."""
        inputs = self.layers[0].in_features
        hidden = [torch.zeros(n, layer.out_features, dtype=self.dtype, device=self.device)
                  for layer in self.layers[:-1]]
        return {"z": [torch.zeros(n, inputs, dtype=self.dtype, device=self.device), *hidden],
                "weights": [layer.weight * layer.mask for layer in self.layers],
                "degrees": [getattr(self, f"degrees_{layer}")[self.mask_index]
                            for layer in range(len(self.layers) - 1)]}

    def _cached_step(self, previous: Tensor | None, t: int, state: Any) -> tuple[Tensor, Any]:
        """Place the value of rank t (variable order[t - 1]), compute the hidden units of
        degree t in every layer (they see only ranks <= t), and read variable order[t]."""
        per_variable = 1 if self.n_levels == 2 else self.n_levels
        z, weights = state["z"], state["weights"]
        if previous is not None:
            i = int(self.order[t - 1]) * per_variable
            z[0][:, i:i + per_variable] = previous.reshape(len(z[0]), per_variable)
            for layer, degrees in enumerate(state["degrees"]):
                units = (degrees == t).nonzero().squeeze(1)  # computed now, once
                if len(units):
                    z[layer + 1][:, units] = torch.relu(F.linear(
                        z[layer], weights[layer][units], self.layers[layer].bias[units]))
        rows = slice(int(self.order[t]) * per_variable, (int(self.order[t]) + 1) * per_variable)
        logits = F.linear(z[-1], weights[-1][rows], self.layers[-1].bias[rows])  # (n, K)
        return (logits[:, 0] if self.n_levels == 2 else logits), state
