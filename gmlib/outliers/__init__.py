"""Outlier detection with density models (lecture 15).

* `roc`: ROC curves and the area under them, with ties handled as scikit-learn does.
* `scores`: outlier scores from any model with a (bound on the) log-likelihood.
* `typicality`: the typicality test of Nalisnick et al. (2019), which flags inputs whose
  likelihood is *too high* as well as too low.
* `corruptions`: corrupted and foreign versions of the digits to test detectors on.
"""

from __future__ import annotations

from gmlib.outliers.corruptions import CORRUPTIONS, corrupt
from gmlib.outliers.roc import ROC, fpr_at_tpr, roc_auc, roc_curve
from gmlib.outliers.scores import nll_scores, typicality_scores
from gmlib.outliers.typicality import TypicalityTest

__all__ = ["CORRUPTIONS", "ROC", "TypicalityTest", "corrupt", "fpr_at_tpr", "nll_scores",
           "roc_auc", "roc_curve", "typicality_scores"]
