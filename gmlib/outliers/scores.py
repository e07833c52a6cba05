"""Outlier scores from density models: high score = unlikely under the model."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from gmlib.metrics import dataset_log_likelihood
from gmlib.validation import check_tensor

__all__ = ["nll_scores", "typicality_scores"]


def nll_scores(model: nn.Module | Callable[[Tensor], Tensor], x: Tensor, *,
               batch_size: int = 512) -> Tensor:
    """-log p(x) in nats for every input: the classic density-threshold score.

    Args:
        model: a model with `log_prob`, or a function giving (B,) log-likelihoods or bounds
            (`model.elbo`, `lambda x: model.iwae_bound(x, 100)`).
        x: inputs (N, *event_shape) in the model's support.

    Shapes:
        returns (N,) float64 on the CPU.
    """
    with torch.no_grad():
        return -dataset_log_likelihood(model, x, batch_size=batch_size).double()


def typicality_scores(nll: Tensor, reference_nll: Tensor) -> Tensor:
    """|-log p(x) - H| with H estimated as the mean NLL of held-out inliers: the one-input
    typicality score (Nalisnick et al. 2019 with batch size 1). It flags inputs that are far
    *more* likely than typical data as well as those far less likely.

    Shapes:
        nll: (N,), reference_nll: (M,) -> (N,)
    """
    check_tensor(nll, "nll")
    check_tensor(reference_nll, "reference_nll")
    if nll.dim() != 1 or reference_nll.dim() != 1 or reference_nll.numel() == 0:
        raise ValueError(f"nll and reference_nll must be 1-D and reference_nll non-empty; got "
                         f"shapes {tuple(nll.shape)} and {tuple(reference_nll.shape)}")
    entropy = reference_nll.double().mean()
    return (nll.double() - entropy.to(nll.device)).abs()
