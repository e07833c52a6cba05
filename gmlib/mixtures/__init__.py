"""Mixture models fitted by EM and by variational Bayes (lecture 03).

* `GaussianMixture`: EM with full, diagonal or spherical covariances (agrees with
  scikit-learn step for step from the same initialisation).
* `BernoulliMixture`: EM for binary images.
* `BayesianGaussianMixture`: Dirichlet and Normal-Wishart priors, fitted by variational Bayes.
"""

from __future__ import annotations

from gmlib.mixtures._em import EMMixture, initial_responsibilities
from gmlib.mixtures.bayesian import BayesianGaussianMixture
from gmlib.mixtures.bernoulli import BernoulliMixture
from gmlib.mixtures.gaussian import COVARIANCE_TYPES, GaussianMixture

__all__ = ["COVARIANCE_TYPES", "BayesianGaussianMixture", "BernoulliMixture", "EMMixture",
           "GaussianMixture", "initial_responsibilities"]
