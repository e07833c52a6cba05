"""Likelihood metrics: dataset log-likelihood in nats, NLL per example, bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from gmlib.data import uniform_dequantize
from gmlib.utils import logmeanexp
from gmlib.validation import check_positive_int, check_tensor

__all__ = ["bits_per_dim", "dataset_log_likelihood", "dequantized_log_likelihood", "nats_to_bits",
           "nll"]

ScoreFn = Callable[[Tensor], Tensor]


def _score_fn(model: nn.Module | ScoreFn) -> ScoreFn:
    if isinstance(model, nn.Module):
        if not hasattr(model, "log_prob"):
            raise TypeError(f"{type(model).__name__} has no log_prob; pass a function instead, "
                            "e.g. model.elbo or lambda x: model.iwae_bound(x, 1000)")
        return model.log_prob
    if callable(model):
        return model
    raise TypeError(f"model must be an nn.Module with log_prob or a function x -> (B,) "
                    f"log-likelihoods; got {type(model).__name__}")


def _model_device(fn: ScoreFn) -> torch.device | None:
    owner = getattr(fn, "__self__", fn)
    if isinstance(owner, nn.Module):
        for tensor in (*owner.parameters(), *owner.buffers()):
            return tensor.device
    return None


@torch.no_grad()
def dataset_log_likelihood(model: nn.Module | ScoreFn, data: Tensor, *,
                           batch_size: int = 512) -> Tensor:
    """Per-example log-likelihood (or bound) over a whole data set, in nats.

    Args:
        model: a model with `log_prob`, or any function mapping a batch to (B,) values, such
            as `model.elbo` or `lambda x: model.iwae_bound(x, 1000)`.
        data: the examples, (N, *event_shape); batches are moved to the model's device.
        batch_size: examples per forward pass.

    Shapes:
        returns (N,), on the CPU.
    """
    check_tensor(data, "data")
    check_positive_int(batch_size, "batch_size")
    if data.dim() == 0 or data.shape[0] == 0:
        raise ValueError(f"data must hold at least one example; got shape {tuple(data.shape)}")
    fn = _score_fn(model)
    device = _model_device(fn)
    values = []
    for start in range(0, data.shape[0], batch_size):
        batch = data[start:start + batch_size]
        out = fn(batch.to(device) if device is not None else batch)
        if out.shape != (batch.shape[0],):
            raise ValueError(f"the model returned shape {tuple(out.shape)} for a batch of "
                             f"{batch.shape[0]}; expected ({batch.shape[0]},)")
        values.append(out.detach().cpu())
    return torch.cat(values)


@torch.no_grad()
def dequantized_log_likelihood(log_density: ScoreFn, x: Tensor, *, n_samples: int = 1,
                               generator: torch.Generator | None = None) -> Tensor:
    """A lower bound on the discrete log-likelihood of integer data under a continuous density.

    A density p on the reals gives integer data the probability P(x) = E_u[p(x + u)],
    u ~ U[0, 1)^D. With k draws, log (1/k) sum_j p(x + u_j) is in expectation a lower bound on
    log P(x) that tightens as k grows (importance sampling with the uniform proposal, as in
    Burda et al. 2016); k = 1 is the usual bound E_u[log p(x + u)] (Theis et al. 2016). The
    bound is in nats of the *integer* scale: a model fitted to rescaled data must add the
    log-Jacobian of the rescaling itself.

    Args:
        log_density: maps a batch of real vectors to (B,) log-densities.
        x: integer-valued data, (B, *event_shape).
        n_samples: k, the dequantisation draws per example.
        generator: for reproducible noise.

    Shapes:
        returns (B,)
    """
    check_positive_int(n_samples, "n_samples")
    draws = torch.stack([log_density(uniform_dequantize(x, generator=generator))
                         for _ in range(n_samples)])
    return logmeanexp(draws, 0)


def nll(model: nn.Module | ScoreFn, data: Tensor, *, batch_size: int = 512) -> float:
    """Mean negative log-likelihood per example in nats (the course's headline metric)."""
    return float(-dataset_log_likelihood(model, data, batch_size=batch_size).double().mean())


def nats_to_bits(nats: float) -> float:
    """Convert nats to bits (divide by ln 2)."""
    return nats / math.log(2)


def bits_per_dim(nats_per_example: float, n_dims: int) -> float:
    """NLL in bits per dimension: nats / (D ln 2); 64 dimensions for the digits."""
    check_positive_int(n_dims, "n_dims")
    return nats_per_example / (n_dims * math.log(2))
