"""Linear latent-variable models (lecture 04): PCA, probabilistic PCA, factor analysis and
robust Student-t PPCA, all with fit / log_prob / score / sample and the posterior of z."""

from __future__ import annotations

from gmlib.linear._gaussian import LinearGaussianModel, ppca_from_covariance, subspace_angle
from gmlib.linear.factor_analysis import FactorAnalysis
from gmlib.linear.pca import PCA, PPCA
from gmlib.linear.student_t import StudentTPPCA

__all__ = ["PCA", "PPCA", "FactorAnalysis", "LinearGaussianModel", "StudentTPPCA",
           "ppca_from_covariance", "subspace_angle"]
