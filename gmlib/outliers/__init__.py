"""Outlier detection with density models (lecture 15).

* `roc`: ROC curves and the area under them, with ties handled as scikit-learn does.
* `scores`: outlier scores from any model with a (bound on the) log-likelihood.
* `typicality`: the typicality test of Nalisnick et al. (2019), which flags inputs whose
  likelihood is *too high* as well as too low.
* `complexity`: input complexity from a general-purpose compressor, and the likelihood
  ratio against it (Serra et al. 2020).
* `corruptions`: corrupted and foreign versions of the digits to test detectors on.
"""

from __future__ import annotations

from gmlib.outliers.complexity import COMPRESSORS, complexity_bits, complexity_scores
from gmlib.outliers.corruptions import CORRUPTIONS, corrupt
from gmlib.outliers.roc import ROC, fpr_at_tpr, roc_auc, roc_curve
from gmlib.outliers.scores import nll_scores, typicality_scores
from gmlib.outliers.typicality import TypicalityTest

__all__ = ["COMPRESSORS", "CORRUPTIONS", "ROC", "TypicalityTest", "complexity_bits",
           "complexity_scores", "corrupt", "fpr_at_tpr", "nll_scores", "roc_auc", "roc_curve",
           "typicality_scores"]
