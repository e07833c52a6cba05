"""The typicality test for out-of-distribution batches (Nalisnick et al. 2019).

A model of dimension D puts almost all of its mass on the typical set, where
-log p(x) / D is close to the entropy rate; its mode may lie far outside it (for a standard
Gaussian in 64 dimensions the mode has density e^{32} times the typical point's). So an input
can be *too likely* to come from the data, which a density threshold cannot see. The test
compares the mean NLL of a batch of M inputs with the entropy H estimated on training data,
and rejects when |mean NLL - H| exceeds a threshold set by bootstrap on held-out inliers so
that inlier batches are rejected with probability alpha.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gmlib.validation import check_positive_int, check_tensor

__all__ = ["TypicalityTest"]


def _nll_vector(nll: Tensor, name: str) -> Tensor:
    check_tensor(nll, name)
    if nll.dim() != 1 or nll.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor of per-input NLLs; got shape "
                         f"{tuple(nll.shape)}")
    return nll.detach().cpu().double()


class TypicalityTest:
    """Two-sided test of whether a batch of M inputs is typical for the model.

    Args:
        batch_size: M, the inputs judged together (M = 1 gives a per-input score).
        alpha: share of inlier batches the test may reject (its false positive rate).
        n_bootstrap: bootstrap batches used to set the threshold.
        seed: seed of the bootstrap resampling.

    Usage: `test = TypicalityTest(10).fit(train_nll, val_nll)`, then `test.statistic(nll)`
    scores consecutive batches of M inputs and `test.reject(nll)` flags them.
    """

    def __init__(self, batch_size: int = 1, *, alpha: float = 0.01, n_bootstrap: int = 2000,
                 seed: int = 0) -> None:
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha}")
        self.alpha = alpha
        self.n_bootstrap = check_positive_int(n_bootstrap, "n_bootstrap")
        self.seed = seed
        self.entropy: float | None = None
        self.threshold: float | None = None

    def fit(self, train_nll: Tensor, val_nll: Tensor) -> TypicalityTest:
        """H = mean training NLL; the threshold = the (1 - alpha) quantile of the statistic
        over bootstrap batches of M held-out inlier NLLs. Returns self."""
        train_nll = _nll_vector(train_nll, "train_nll")
        val_nll = _nll_vector(val_nll, "val_nll")
        self.entropy = float(train_nll.mean())
        gen = torch.Generator().manual_seed(self.seed)
        idx = torch.randint(len(val_nll), (self.n_bootstrap, self.batch_size), generator=gen)
        stats = (val_nll[idx].mean(1) - self.entropy).abs()
        self.threshold = float(torch.quantile(stats, 1.0 - self.alpha))
        return self

    def statistic(self, nll: Tensor) -> Tensor:
        """|mean NLL - H| of consecutive batches of M inputs (a last partial batch is dropped).

        Shapes:
            nll: (N,) with N >= M -> (N // M,)
        """
        if self.entropy is None:
            raise RuntimeError("call fit(train_nll, val_nll) before statistic()")
        nll = _nll_vector(nll, "nll")
        n = len(nll) // self.batch_size
        if n == 0:
            raise ValueError(f"need at least batch_size={self.batch_size} NLLs; got {len(nll)}")
        batches = nll[: n * self.batch_size].view(n, self.batch_size)
        return (batches.mean(1) - self.entropy).abs()

    def reject(self, nll: Tensor) -> Tensor:
        """True for each batch of M inputs judged out of distribution. Shapes: (N,) -> (N // M,)"""
        stat = self.statistic(nll)
        assert self.threshold is not None  # set with entropy by fit
        return stat > self.threshold
