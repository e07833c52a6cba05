"""ROC curves and AUC for outlier scores (higher score = more likely an outlier).

The AUC is the probability that a random outlier scores higher than a random inlier, ties
counted as one half: the Mann-Whitney U statistic divided by n_out * n_in (Hanley and McNeil
1982). Computed from mid-ranks, it equals the trapezoidal area under the ROC curve whose
points are taken only between distinct scores, which is what scikit-learn's `roc_auc_score`
returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from torch import Tensor

__all__ = ["ROC", "fpr_at_tpr", "roc_auc", "roc_curve"]


@dataclass(frozen=True)
class ROC:
    """An ROC curve: flagging every input with score >= thresholds[i] gives false positive rate
    fpr[i] and true positive rate tpr[i]. The first point is (0, 0) (threshold +inf)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray

    @property
    def auc(self) -> float:
        """Trapezoidal area under the curve."""
        return float(np.trapezoid(self.tpr, self.fpr))


def _as_arrays(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Validate: 1-D finite scores, 0/1 (or bool) labels of the same length, both classes."""
    s = scores.detach().cpu().double().numpy() if isinstance(scores, Tensor) else \
        np.asarray(scores, dtype=np.float64)
    y = is_outlier.detach().cpu().numpy() if isinstance(is_outlier, Tensor) else \
        np.asarray(is_outlier)
    if s.ndim != 1 or y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"scores and is_outlier must be 1-D of the same length; got shapes "
                         f"{tuple(s.shape)} and {tuple(y.shape)}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (a -inf log-likelihood gives an infinite "
                         "score: clamp it or drop the input)")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("is_outlier must hold only 0/1 or False/True")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("is_outlier needs both outliers (1) and inliers (0) for an ROC curve")
    return s, y


def roc_auc(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> float:
    """P(score of an outlier > score of an inlier) + P(tie) / 2.

    Shapes:
        scores, is_outlier: (N,) -> float in [0, 1]; 0.5 is chance, 1 a perfect detector.
    """
    s, y = _as_arrays(scores, is_outlier)
    ranks = rankdata(s)  # mid-ranks: tied scores share the mean of their ranks
    n_out, n_in = int(y.sum()), int((~y).sum())
    u = ranks[y].sum() - n_out * (n_out + 1) / 2
    return float(u / (n_out * n_in))


def roc_curve(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> ROC:
    """The ROC curve, one point per distinct score (ties move together).

    Shapes:
        scores, is_outlier: (N,) -> ROC with arrays of length (number of distinct scores + 1)
    """
    s, y = _as_arrays(scores, is_outlier)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = np.cumsum(~y)[last_of_tie]
    return ROC(fpr=np.r_[0.0, fp / fp[-1]], tpr=np.r_[0.0, tp / tp[-1]],
               thresholds=np.r_[np.inf, s[last_of_tie]])


def fpr_at_tpr(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray,
               tpr: float = 0.95) -> float:
    """The false positive rate of the first threshold that catches a share `tpr` of the
    outliers (the "FPR at 95% TPR" of the out-of-distribution literature)."""
    if not 0.0 < tpr <= 1.0:
        raise ValueError(f"tpr must be in (0, 1]; got {tpr}")
    curve = roc_curve(scores, is_outlier)
    return float(curve.fpr[np.searchsorted(curve.tpr, tpr - 1e-12)])

