"""Random draws that take a `torch.Generator`, so every gmlib sampler is reproducible.

`torch.distributions` samplers draw from the global random stream only; these helpers give
the draws gmlib's models need (categorical, Bernoulli, gamma) from a caller's generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["bernoulli_draw", "categorical_draw", "gamma_draw", "seeded_by"]


def categorical_draw(logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One level per row of unnormalised log-probabilities, by the inverse CDF.

    Shapes:
        logits: (..., K) -> returns (...) int64
    """
    cdf = torch.softmax(logits.double(), dim=-1).cumsum(-1)
    u = torch.rand(cdf.shape[:-1], generator=generator, dtype=cdf.dtype, device=cdf.device)
    return (cdf < u.unsqueeze(-1)).sum(-1).clamp(max=logits.shape[-1] - 1)


def bernoulli_draw(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """1 with probability `probs`, else 0, in `probs`' dtype.

    Shapes:
        probs: (...) in [0, 1] -> returns (...)
    """
    return torch.bernoulli(probs, generator=generator)


def gamma_draw(concentration: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Gamma(concentration, rate 1) draws by Marsaglia & Tsang's (2000) squeeze method.

    For a < 1 it draws Gamma(a + 1) and multiplies by U^(1/a) (their section 6). Divide by a
    rate to get another rate; Chi2(k) is 2 Gamma(k / 2).

    Shapes:
        concentration: (...) > 0 -> returns (...) in its dtype
    """
    a = concentration
    if not bool((a > 0).all()):
        raise ValueError("concentration must be > 0")
    boosted = torch.where(a < 1, a + 1, a).double()
    d = boosted - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(d)
    todo = torch.ones_like(d, dtype=torch.bool)
    like = {"generator": generator, "dtype": d.dtype, "device": d.device}
    while bool(todo.any()):  # each round accepts over 95% of what is left
        x = torch.randn(d.shape, **like)
        v = (1 + c * x) ** 3
        u = torch.rand(d.shape, **like)
        ok = (v > 0) & (torch.log(u) < 0.5 * x**2 + d - d * v
                        + d * torch.log(v.clamp_min(1e-300)))
        take = todo & ok
        out[take] = (d * v)[take]
        todo &= ~ok
    small = a < 1
    if bool(small.any()):
        u = torch.rand(d.shape, **like)
        out = torch.where(small, out * u ** (1.0 / a.double()), out)
    return out.to(concentration.dtype)


@contextmanager
def seeded_by(generator: torch.Generator | None, device: torch.device) -> Iterator[None]:
    """Run the block's global-stream draws (`torch.distributions`, `torch.randn` without a
    generator) from a seed taken from `generator`, leaving the global stream as it was.

    With `generator=None` the block draws from the global stream as usual. This is how the
    samplers built on `torch.distributions` (which take no generator) follow the contract's
    `sample(n, generator=...)`.
    """
    if generator is None:
        yield
        return
    seed = int(torch.randint(2**62, (), generator=generator, device=generator.device))
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.manual_seed(seed)
        yield
