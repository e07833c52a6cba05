"""What every discrete autoregressive model shares: the chain rule, scoring, sampling.

p(x) = prod_r p(x_{o_r} | x_{o_1}, ..., x_{o_{r-1}}) for an ordering o of the D variables.
A model only supplies `conditional_logits`: from the encoded inputs it returns, for every
variable, the logits of its conditional, computed from the variables before it in the
ordering. Then

* `log_prob(x)` is one network pass: gather the logit of each observed value (exact);
* `sample(n)` is D passes, one variable at a time (the "slow generation" of the seed [000]);
  models with a cache do each step with a small part of a pass (`method="cached"`): NADE keeps
  its running pre-activation, MADE computes each hidden unit once (when the inputs of its
  degree are known), `CausalTransformer`, `WaveNet` and `SequenceLSTM` keep keys/values, queues
  or an RNN state.

Both samplers turn the same uniforms into values by the inverse CDF, so with the same
generator they return the same samples: the cached sampler is exact, not an approximation.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from gmlib.base import DensityModel
from gmlib.utils import parameter_dtype
from gmlib.validation import Support, check_int

__all__ = ["AutoregressiveModel", "as_event_shape", "bernoulli_log_prob", "check_order",
           "draw_categorical"]


def as_event_shape(shape: int | Sequence[int], name: str = "event_shape") -> tuple[int, ...]:
    """`64 -> (64,)`, `(1, 8, 8)` unchanged; every size a positive int."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"{name} must be a positive int or a tuple of them, such as 64 or "
                         f"(1, 8, 8); got {shape!r}")
    return shape


def check_order(order: Sequence[int] | Tensor | str | None, n_dims: int, *,
                generator: torch.Generator | None = None) -> Tensor:
    """An ordering of 0..n_dims-1: None or "natural" (raster), "random", or a permutation."""
    if order is None or (isinstance(order, str) and order == "natural"):
        return torch.arange(n_dims)
    if isinstance(order, str) and order == "random":
        return torch.randperm(n_dims, generator=generator)
    if isinstance(order, str):
        raise ValueError(f"order must be 'natural', 'random' or a permutation; got {order!r}")
    tensor = torch.as_tensor(order).long().flatten().cpu()
    if sorted(tensor.tolist()) != list(range(n_dims)):
        raise ValueError(f"order must be a permutation of 0..{n_dims - 1}; got "
                         f"{tensor.tolist()}")
    return tensor


def bernoulli_log_prob(x: Tensor, logits: Tensor) -> Tensor:
    """log p(x) of independent Bernoullis given their logits, summed over the last axis:
    sum_i [x_i l_i - log(1 + exp(l_i))], stable for any l.

    Shapes:
        x, logits: (B, D) -> (B,)
    """
    return (x.to(logits.dtype) * logits - F.softplus(logits)).sum(-1)


def draw_categorical(logits: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF draw: the level whose CDF interval holds the uniform `u`.

    Shapes:
        logits: (n, K) (or (n,) Bernoulli logits); u: (n,) in [0, 1) -> (n,) levels as float
    """
    if logits.dim() == 1:
        return (u < torch.sigmoid(logits.double())).to(logits.dtype)
    cdf = torch.softmax(logits.double(), dim=-1).cumsum(-1)
    level = (cdf < u[:, None]).sum(-1).clamp(max=logits.shape[-1] - 1)
    return level.to(logits.dtype)


class AutoregressiveModel(DensityModel):
    """Base class: D discrete variables in {0..K-1}, conditionals from one network pass.

    Args:
        event_shape: shape of one observation, e.g. 64 or (1, 8, 8); D = its product.
        n_levels: K, the values each variable takes (2 for binary data).
        order: the ordering of the chain rule (natural raster order by default).

    Subclasses implement `conditional_logits(h)`, where `h = self.encode(x)`; output i of
    it may depend only on the inputs that come before variable i in `self.order`.

    Shapes:
        x: (B, *event_shape) -> log_prob (B,); conditional_logits -> (B, D) Bernoulli logits
        when K = 2 and the model says so, else (B, D, K)
    """

    def __init__(self, event_shape: int | Sequence[int], n_levels: int = 2, *,
                 order: Sequence[int] | Tensor | str | None = None) -> None:
        check_int(n_levels, "n_levels", 2)
        event_shape = as_event_shape(event_shape)
        super().__init__(event_shape, Support.levels(n_levels))
        self.n_levels = n_levels
        self.n_dims = math.prod(event_shape)
        self.register_buffer("order", check_order(order, self.n_dims))

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype of the parameters (inputs are cast to it)."""
        return parameter_dtype(self)

    # binary models built on vectors (FVSBN, NADE, MADE) read 0/1 values directly; the
    # others embed every level, K = 2 included
    binary_inputs_as_values = False

    def encode(self, x: Tensor) -> Tensor:
        """Network input for flat values x (B, D): one-hot (B, D, K), or x itself (B, D)
        for a binary model with `binary_inputs_as_values`.

        One-hot inputs make the embedding of a level differentiable, so the autoregressive
        property can be checked by gradients (`gmlib.testing.assert_autoregressive`).
        """
        if self.n_levels == 2 and self.binary_inputs_as_values:
            return x.to(self.dtype)
        return F.one_hot(x.long(), self.n_levels).to(self.dtype)

    def conditional_logits(self, h: Tensor) -> Tensor:
        """Logits of every conditional p(x_i | x_<i) from encoded inputs `h`."""
        raise NotImplementedError

    def log_prob_flat(self, x: Tensor) -> Tensor:
        """log p(x) for a validated flat batch (B, D): one pass, then a gather."""
        logits = self.conditional_logits(self.encode(x))
        if logits.dim() == 2:  # one Bernoulli logit per variable
            return bernoulli_log_prob(x, logits)
        log_p = torch.log_softmax(logits, dim=-1)
        return log_p.gather(-1, x.long().unsqueeze(-1)).squeeze(-1).sum(-1)

    def _log_prob(self, x: Tensor) -> Tensor:
        return self.log_prob_flat(x.reshape(x.shape[0], self.n_dims))

    @property
    def has_cache(self) -> bool:
        """Whether `sample(n, method="cached")` is available."""
        return type(self)._cached_step is not AutoregressiveModel._cached_step

    def _sampler_method(self, method: str | None) -> str:
        """`method` checked; None picks the cached sampler where there is one."""
        if method is None:
            return "cached" if self.has_cache else "naive"
        if method not in ("naive", "cached"):
            raise ValueError(f"method must be 'naive' or 'cached'; got {method!r}")
        if method == "cached" and not self.has_cache:
            raise ValueError(f"{type(self).__name__} has no cached sampler; use "
                             "method='naive'")
        return method

    def conditionals(self, n: int, *, method: str | None = None
                     ) -> Generator[tuple[int, Tensor], Tensor, Tensor]:
        """Walk the variables in `self.order`, yielding each one's conditional given the
        values chosen before it; the caller sends each chosen value back.

        This is the one loop behind sampling and `gmlib.coding.compress`: a sampler sends a
        draw, a coder the value it codes. `method="naive"` runs the network on the partial
        input for every variable; `"cached"` (the default where the model has a cache) takes
        one cheap step per variable; both give the same logits.

        Yields:
            (i, logits): the variable's index in 0..D-1 and its logits, (n, K) or, for
            binary models, (n,) Bernoulli logits. Send the chosen values, (n,), back.

        Returns:
            The filled values, (n, D) (the generator's return value).

        Examples:
            >>> import torch
            >>> from gmlib.autoregressive import NADE
            >>> model = NADE(4, hidden=8)
            >>> steps = model.conditionals(2)
            >>> i, logits = next(steps)
            >>> for _ in range(3):  # always choose 1
            ...     i, logits = steps.send(torch.ones(2))
            >>> (i, tuple(logits.shape))
            (3, (2,))
        """
        method = self._sampler_method(method)
        x = torch.zeros(n, self.n_dims, dtype=self.dtype, device=self.device)
        if method == "naive":
            for i in self.order.tolist():
                value = yield i, self.conditional_logits(self.encode(x))[:, i]
                x[:, i] = value.to(x)
            return x
        state, previous = self._start_cache(n), None
        for t, i in enumerate(self.order.tolist()):
            logits, state = self._cached_step(previous, t, state)
            value = yield i, logits
            x[:, i] = value.to(x)
            previous = self.encode(x[:, i:i + 1])  # (n, 1) or (n, 1, K): the value just set
        return x

    def _sample(self, n: int, *, method: str | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """Sequential sampling with the naive or the cached sampler (the best by default)."""
        method = self._sampler_method(method)
        # one uniform per variable and sample, drawn on the CPU: reproducible on any device
        uniforms = torch.rand(self.n_dims, n, generator=generator, dtype=torch.float64)
        uniforms = uniforms.to(self.device)
        return self._draw(uniforms, method).reshape(n, *self.event_shape)

    def _draw(self, uniforms: Tensor, method: str) -> Tensor:
        """Samples (n, D) from `conditionals`, variable order[r] from uniforms[r] (D, n)."""
        steps = self.conditionals(uniforms.shape[1], method=method)
        _, logits = next(steps)
        for r in range(self.n_dims):
            try:
                _, logits = steps.send(draw_categorical(logits, uniforms[r]))
            except StopIteration as done:
                return done.value
        raise RuntimeError("conditionals yielded more variables than D")

    def complete(self, x: Tensor, n_known: int, *,
                 generator: torch.Generator | None = None) -> Tensor:
        """Keep the first `n_known` variables of `self.order` and sample the rest given them.

        Because the chain rule in this order factorises p(rest | known) into the model's own
        conditionals, these are *exact* samples of the model's conditional distribution:
        inpainting of everything after a prefix (the bottom rows of an image in raster
        order). Other masks need a model trained for them (`ConditionalPixelCNN`) or an
        ordering that puts the known variables first.

        Shapes:
            x: (B, *event_shape) with valid values (only the known ones are read)
            -> (B, *event_shape)
        """
        x = self.validate_input(x)
        n_known = check_int(n_known, "n_known", 0)
        if n_known > self.n_dims:
            raise ValueError(f"n_known must be at most D = {self.n_dims}; got {n_known}")
        batch = x.shape[0]
        order = self.order
        flat = x.reshape(batch, self.n_dims).to(self.device, self.dtype).clone()
        flat[:, order[n_known:]] = 0  # the unknown values are never read; zero them anyway
        uniforms = torch.rand(self.n_dims, batch, generator=generator, dtype=torch.float64)
        with torch.no_grad():
            flat = self._fill(flat, uniforms.to(self.device), order, n_known)
        return flat.reshape(batch, *self.event_shape)

    def inpaint(self, x: Tensor, mask: Tensor, *,
                generator: torch.Generator | None = None) -> Tensor:
        """Keep the variables where `mask` is 1 and sample the others in `self.order`, each
        from its conditional given every variable before it (kept or already drawn).

        For a mask that keeps a prefix of the order this is `complete` (the same draws from
        the same generator), and exact. For other masks the kept variables *after* a missing
        one are not conditioned on, so it is exact only for a model that sees the kept
        values in its condition (a `ConditionalPixelCNN` trained with the mask as a control
        signal) and an approximation otherwise. Only missing variables cost a network pass.

        Shapes:
            x: (B, *event_shape) with valid values where kept; mask: 0/1, (B, *event_shape)
            or (*event_shape) -> (B, *event_shape)
        """
        x = self.validate_input(x)
        batch = x.shape[0]
        if not isinstance(mask, Tensor) or mask.shape not in (x.shape, x.shape[1:]):
            raise ValueError(f"mask must be a 0/1 tensor of shape {tuple(x.shape)} or "
                             f"{tuple(x.shape[1:])}; got "
                             f"{tuple(mask.shape) if isinstance(mask, Tensor) else mask!r}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold only 0 (sample) and 1 (keep)")
        keep = mask.expand_as(x).reshape(batch, self.n_dims).to(self.device).bool()
        flat = x.reshape(batch, self.n_dims).to(self.device, self.dtype).clone()
        flat[~keep] = 0  # the missing values are never read; zero them anyway
        uniforms = torch.rand(self.n_dims, batch, generator=generator, dtype=torch.float64)
        uniforms = uniforms.to(self.device)
        with torch.no_grad():
            for r, i in enumerate(self.order.tolist()):
                missing = ~keep[:, i]
                if not bool(missing.any()):
                    continue
                logits = self.conditional_logits(self.encode(flat))[:, i]
                drawn = draw_categorical(logits, uniforms[r])
                flat[:, i] = torch.where(missing, drawn.to(flat.dtype), flat[:, i])
        return flat.reshape(batch, *self.event_shape)

    def _sample_naive(self, uniforms: Tensor) -> Tensor:
        """D full network passes; pass r fills variable order[r].

        Shapes:
            uniforms: (D, n) -> samples (n, D)
        """
        return self._draw(uniforms, "naive")

    def _fill(self, x: Tensor, uniforms: Tensor, order: Tensor, start: int) -> Tensor:
        """Draw variables order[start:] in turn, one full pass each, into x (in place).

        Shapes:
            x: (n, D), uniforms: (D, n) -> x
        """
        for r in range(start, self.n_dims):
            i = int(order[r])
            logits = self.conditional_logits(self.encode(x))[:, i]
            x[:, i] = draw_categorical(logits, uniforms[r])
        return x

    def _start_cache(self, n: int) -> Any:
        """The empty cache of a sampler for `n` samples (models with a cache override it)."""
        return None

    def _cached_step(self, previous: Tensor | None, t: int, state: Any) -> tuple[Tensor, Any]:
        """Logits (n, K), or (n,) Bernoulli logits, of variable order[t], from the encoded
        value of variable order[t - 1] (None at t = 0) and the cache.

        Models with a cache (a running sum, computed hidden units, keys/values, queues, an
        RNN state) override this; the result must equal `conditional_logits(...)[:, order[t]]`
        of the naive pass. (The sequence models have no ordering argument: order[t] = t.)
        """
        raise NotImplementedError
