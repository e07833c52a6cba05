"""`MaskedDiffusion`: absorbing-state (masked) diffusion on discrete data, with its bound.

The forward process hides each of the D variables independently behind a MASK token: at time
t in [0, 1] a variable is still visible with probability alpha_t = 1 - t (the linear
schedule), so x_1 is all MASK. The reverse process unmasks: a network reads the partly masked
x_t and gives, for every masked variable, a distribution over its K values; variables once
unmasked never change. With this parameterisation the continuous-time bound of Austin et al.
(2021, D3PM's absorbing state), Sahoo et al. (2024, MDLM) and Shi et al. (2024) is

    -log p(x) <= int_0^1 (1 / t) E_{x_t ~ q(.|x)} [ sum_{i masked} -log p(x_i | x_t) ] dt,

a cross-entropy on the masked variables weighted by 1/t. Integrating t out given the number m
of masked variables (each subset of size m is equally likely; int_0^1 C(D, m) t^(m-1)
(1-t)^(D-m) dt = 1/m) gives the same bound as a sum over m = 1..D of the mean cross-entropy
on a random set of m masked variables: the objective of an any-order autoregressive model
(Uria et al. 2014; Hoogeboom et al. 2022), E_sigma sum_d -log p(x_sigma(d) | x_sigma(<d))
over uniformly random orderings sigma. The model's likelihood is that of the sampler that
unmasks one variable at a time in a random order, p(x) = E_sigma prod_d p(x_sigma(d) |
x_sigma(<d)); by Jensen's inequality the bound is >= -log p(x), with equality when every
ordering gives the same product (a network whose conditionals are those of one joint).

Sampling several variables per step draws them independently given what is visible, which
is what makes few steps fast and, when the variables are dependent, worse.

References:
    Austin et al. 2021, Structured denoising diffusion models in discrete state-spaces,
    https://arxiv.org/abs/2107.03006
    Sahoo et al. 2024, Simple and effective masked diffusion language models,
    https://arxiv.org/abs/2406.07524
    Shi et al. 2024, Simplified and generalized masked diffusion for discrete data,
    https://arxiv.org/abs/2406.04329
    Ou et al. 2024, Your absorbing discrete diffusion secretly models the conditional
    distributions of clean data, https://arxiv.org/abs/2406.03736
    Uria, Murray, Larochelle 2014, A deep and tractable density estimator,
    https://arxiv.org/abs/1310.1757
    Hoogeboom et al. 2022, Autoregressive diffusion models, https://arxiv.org/abs/2110.02037
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.base import GenerativeModel, Support
from gmlib.validation import check_int

__all__ = ["MAX_EXACT_DIMS", "MaskedConvDenoiser", "MaskedDiffusion"]

# enumerating every mask (2^D) or every ordering (D!) is for tiny problems only
MAX_EXACT_DIMS = 8


class MaskedConvDenoiser(nn.Module):
    """Embedding of the K + 1 tokens (MASK = K) plus a learned position embedding, then 3x3
    residual convolutions at full resolution, then K logits per variable.

    Args:
        event_shape: (C, H, W) of one image.
        n_levels: K values per variable.
        channels: width of the network; n_blocks: residual blocks (two 3x3 convs each).
        dropout: inside the residual blocks.

    Shapes:
        tokens: (B, D) in 0..K (K = MASK), D = C * H * W -> logits (B, D, K)
    """

    def __init__(self, event_shape: Sequence[int], n_levels: int, *, channels: int = 64,
                 n_blocks: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        from gmlib.nn import ResidualConvNet

        if len(event_shape) != 3:
            raise ValueError(f"event_shape must be (C, H, W); got {tuple(event_shape)}")
        self.event_shape = tuple(int(s) for s in event_shape)
        self.n_levels = check_int(n_levels, "n_levels", 2)
        c, h, w = self.event_shape
        self.embed = nn.Embedding(n_levels + 1, channels)
        self.position = nn.Parameter(torch.randn(c * channels, h, w) * 0.02)
        self.net = ResidualConvNet(c * channels, channels, c * n_levels, n_blocks=n_blocks,
                                   dropout=dropout, zero_output=False)

    def forward(self, tokens: Tensor) -> Tensor:
        c, h, w = self.event_shape
        e = self.embed(tokens.view(-1, c, h, w))  # (B, C, H, W, E)
        e = e.permute(0, 1, 4, 2, 3).reshape(len(tokens), -1, h, w) + self.position
        out = self.net(e).view(len(tokens), c, self.n_levels, h, w)
        return out.permute(0, 1, 3, 4, 2).reshape(len(tokens), c * h * w, self.n_levels)


class MaskedDiffusion(GenerativeModel):
    """Absorbing-state diffusion over D variables with K values each.

    Args:
        denoiser: `net(tokens)` with tokens (B, D) in 0..K (K = MASK) -> logits (B, D, K)
            of every variable given the visible ones (only the masked ones are used).
        event_shape: shape of one example; D = its product.
        n_levels: K.

    Shapes:
        x: (B, *event_shape) in 0..K-1 -> loss, elbo (B,); sample(n) -> (n, *event_shape)
    """

    def __init__(self, denoiser: nn.Module, event_shape: Sequence[int], n_levels: int) -> None:
        super().__init__(event_shape, Support.levels(check_int(n_levels, "n_levels", 2)))
        self.denoiser = denoiser
        self.n_levels = n_levels
        self.n_dims = math.prod(self.event_shape)
        # follows .double() / .to(dtype), so sampling uniforms come in the model's dtype
        self.register_buffer("dtype_anchor", torch.zeros(()), persistent=False)

    @property
    def mask_token(self) -> int:
        """The MASK token, K."""
        return self.n_levels

    def _flat(self, x: Tensor) -> Tensor:
        return self.validate_input(x).reshape(len(x), self.n_dims).long()

    def log_probs(self, tokens: Tensor) -> Tensor:
        """log p(x_i = k | visible tokens) for every variable (B, D, K)."""
        logits = self.denoiser(tokens)
        if logits.shape != (*tokens.shape, self.n_levels):
            raise ValueError(f"the denoiser must return logits of shape (B, D, K) = "
                             f"{(*tokens.shape, self.n_levels)}; got {tuple(logits.shape)}")
        return torch.log_softmax(logits.float() if logits.dtype == torch.float16 else logits,
                                 dim=-1)

    def q_sample(self, x: Tensor, t: Tensor | float) -> Tensor:
        """x_t: each variable of x masked with probability t (per example).

        Shapes:
            x: (B, *event_shape); t: float or (B,) in [0, 1] -> tokens (B, D)
        """
        flat = self._flat(x)
        t = torch.as_tensor(t, dtype=torch.float64, device=flat.device).expand(len(flat))
        if t.min() < 0 or t.max() > 1:
            raise ValueError("t must lie in [0, 1]")
        hide = torch.rand(flat.shape, device=flat.device, dtype=torch.float64) < t[:, None]
        return flat.masked_fill(hide, self.mask_token)

    def _masked_cross_entropy(self, flat: Tensor, hide: Tensor) -> Tensor:
        """sum over the hidden variables of -log p(x_i | visible), per example (B,)."""
        tokens = flat.masked_fill(hide, self.mask_token)
        log_p = self.log_probs(tokens).gather(-1, flat.unsqueeze(-1)).squeeze(-1)
        return -(log_p * hide).sum(-1)

    def _random_masks(self, batch: int, sizes: Tensor, device: torch.device) -> Tensor:
        """Boolean masks (B, D), row b hiding a uniformly random set of sizes[b] variables."""
        ranks = torch.rand(batch, self.n_dims, device=device).argsort(-1).argsort(-1)
        return ranks < sizes[:, None]

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """An unbiased one-sample estimate of the negative bound: m ~ U{1..D} variables
        hidden at random, D/m times their summed cross-entropy (the count form of the bound,
        with less variance than sampling t and weighting by 1/t)."""
        self.check_condition(c)
        flat = self._flat(x)
        sizes = torch.randint(1, self.n_dims + 1, (len(flat),), device=flat.device)
        hide = self._random_masks(len(flat), sizes, flat.device)
        return self._masked_cross_entropy(flat, hide) * self.n_dims / sizes

    def time_loss(self, x: Tensor) -> Tensor:
        """The same bound estimated as MDLM writes it: t ~ U(0, 1), each variable hidden with
        probability t, (1 / t) times the cross-entropy of the hidden ones."""
        flat = self._flat(x)
        t = torch.rand(len(flat), device=flat.device, dtype=torch.float64).clamp_min(1e-6)
        hide = torch.rand(flat.shape, device=flat.device, dtype=torch.float64) < t[:, None]
        return self._masked_cross_entropy(flat, hide) / t.to(self.dtype_anchor.dtype)

    def elbo(self, x: Tensor, c: Tensor | None = None, *, masks_per_size: int = 1) -> Tensor:
        """The bound on log p(x), stratified over the number of hidden variables: for each m
        = 1..D, `masks_per_size` random sets of m hidden variables, minus the mean
        cross-entropy per hidden variable; unbiased, with the variance of D strata only.

        Shapes:
            x: (B, *event_shape) -> (B,)
        """
        self.check_condition(c)
        check_int(masks_per_size, "masks_per_size", 1)
        flat = self._flat(x)
        if len(flat) == 0:
            return self._empty_result(flat)
        total = torch.zeros(len(flat), dtype=torch.float64, device=flat.device)
        with torch.no_grad():
            for m in range(1, self.n_dims + 1):
                sizes = torch.full((len(flat),), m, device=flat.device)
                for _ in range(masks_per_size):
                    hide = self._random_masks(len(flat), sizes, flat.device)
                    ce = self._masked_cross_entropy(flat, hide).double()
                    total += ce / (m * masks_per_size)
        return -total.to(self.dtype_anchor.dtype)

    def exact_elbo(self, x: Tensor) -> Tensor:
        """The bound with its expectation over masks enumerated: every one of the 2^D - 1
        non-empty sets of hidden variables, weighted 1 / (m C(D, m)). Tiny D only.

        Shapes:
            x: (B, *event_shape) -> (B,)
        """
        self._check_tiny("exact_elbo")
        flat = self._flat(x)
        total = torch.zeros(len(flat), dtype=torch.float64, device=flat.device)
        with torch.no_grad():
            for bits in itertools.product((False, True), repeat=self.n_dims):
                m = sum(bits)
                if m == 0:
                    continue
                hide = torch.tensor(bits, device=flat.device).expand_as(flat)
                weight = 1.0 / (m * math.comb(self.n_dims, m))
                total += weight * self._masked_cross_entropy(flat, hide).double()
        return -total

    def exact_log_prob(self, x: Tensor) -> Tensor:
        """log p(x) of the one-variable-per-step sampler, by enumerating all D! orderings:
        log mean_sigma prod_d p(x_sigma(d) | x_sigma(<d)). Tiny D only.

        Shapes:
            x: (B, *event_shape) -> (B,)
        """
        self._check_tiny("exact_log_prob")
        flat = self._flat(x)
        per_order = []
        with torch.no_grad():
            for order in itertools.permutations(range(self.n_dims)):
                hide = torch.ones_like(flat, dtype=torch.bool)
                log_p = torch.zeros(len(flat), dtype=torch.float64, device=flat.device)
                for i in order:
                    tokens = flat.masked_fill(hide, self.mask_token)
                    log_p += self.log_probs(tokens)[:, i].gather(
                        -1, flat[:, i:i + 1]).squeeze(-1).double()
                    hide[:, i] = False
                per_order.append(log_p)
        stacked = torch.stack(per_order)
        return torch.logsumexp(stacked, 0) - math.log(len(per_order))

    def _check_tiny(self, what: str) -> None:
        if self.n_dims > MAX_EXACT_DIMS:
            raise ValueError(f"{what} enumerates every mask or ordering, so it is for at most "
                             f"{MAX_EXACT_DIMS} variables; this model has D = {self.n_dims}")

    def log_prob(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """Refuses: only a bound is tractable (exact_log_prob enumerates D! orderings)."""
        raise NotImplementedError(
            "masked diffusion gives a bound on log p(x) (elbo); the exact likelihood averages "
            "over all D! unmasking orders, so it is computed only for tiny D (exact_log_prob)")

    def unmask_counts(self, steps: int) -> list[int]:
        """How many variables each of `steps` sampling steps unmasks: the linear schedule's
        share, D/steps each, rounded so they add up to D."""
        check_int(steps, "steps", 1)
        if steps > self.n_dims:
            raise ValueError(f"steps must be at most D = {self.n_dims} (one variable a "
                             f"step); got {steps}")
        edges = [round(self.n_dims * k / steps) for k in range(steps + 1)]
        return [b - a for a, b in itertools.pairwise(edges)]

    def _sample(self, n: int, *, steps: int | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        """Unmask in a uniformly random order, D/steps variables a step, each drawn from its
        conditional given the variables visible before the step; `steps=None` (= D) is the
        exact one-at-a-time sampler of the model's likelihood."""
        counts = self.unmask_counts(self.n_dims if steps is None else steps)
        device = self.device
        order = torch.rand(n, self.n_dims, generator=generator).argsort(-1).to(device)
        tokens = torch.full((n, self.n_dims), self.mask_token, dtype=torch.long, device=device)
        rows = torch.arange(n, device=device)[:, None]
        start = 0
        for count in counts:
            chosen = order[:, start:start + count]  # (n, count)
            log_p = self.log_probs(tokens)[rows, chosen]  # (n, count, K)
            u = torch.rand(log_p.shape[:-1], generator=generator).to(device)
            cdf = log_p.double().exp().cumsum(-1)
            draws = (cdf < u[..., None]).sum(-1).clamp(max=self.n_levels - 1)
            tokens[rows, chosen] = draws
            start += count
        return tokens.view(n, *self.event_shape).to(self.dtype_anchor.dtype)

    def complete(self, x: Tensor, mask: Tensor, *,
                 generator: torch.Generator | None = None) -> Tensor:
        """Keep the variables where `mask` is 1 and sample the others one at a time in a
        random order, each given everything visible: inpainting with any mask, which the
        model was trained for (every set of visible variables is a training state).

        Shapes:
            x, mask: (B, *event_shape) -> (B, *event_shape)
        """
        flat = self._flat(x)
        if mask.shape != x.shape:
            raise ValueError(f"mask must have the shape of x, {tuple(x.shape)}; got "
                             f"{tuple(mask.shape)}")
        keep = mask.reshape(len(flat), self.n_dims).to(flat.device).bool()
        tokens = flat.masked_fill(~keep, self.mask_token)
        rows = torch.arange(len(flat), device=flat.device)
        scores = torch.rand(flat.shape, generator=generator).to(flat.device)
        order = scores.masked_fill(keep, 2.0).argsort(-1)  # the hidden ones first
        with torch.no_grad():
            for d in range(int((~keep).sum(-1).max()) if (~keep).any() else 0):
                i = order[:, d]
                todo = ~keep[rows, i]
                log_p = self.log_probs(tokens)[rows, i]  # (B, K)
                u = torch.rand(len(flat), generator=generator).to(flat.device)
                draw = (log_p.double().exp().cumsum(-1) < u[:, None]).sum(-1)
                draw = draw.clamp(max=self.n_levels - 1)
                tokens[rows, i] = torch.where(todo, draw, tokens[rows, i])
        return tokens.view(x.shape).to(x.dtype)
