"""How good is a generative model? Likelihoods, and sample quality for models without one.

* `likelihood`: nats per example, bits per dimension, dequantised bounds (lectures 01-08).
* `classifier`: the course's digit classifier, trained by gmlib on the "val" digits only
  and shipped with it; its penultimate features play the role Inception's play for FID.
* `sample_quality`: the Frechet digit distance (FDD), kernel MMD, precision/recall,
  density/coverage and the class-conditional accuracy of generated digits (lecture 09 onwards).
* `modes`: modes covered and high-quality share on the 2-D ring of Gaussians, and the
  purity of a clustering (InfoGAN's categorical code).
"""

from __future__ import annotations

from gmlib.metrics.classifier import (
    DigitClassifier,
    classifier_weights_path,
    digit_classifier,
    digit_features,
    train_digit_classifier,
)
from gmlib.metrics.likelihood import (
    bits_per_dim,
    dataset_log_likelihood,
    dequantized_log_likelihood,
    nats_to_bits,
    nll,
)
from gmlib.metrics.modes import ModeCoverage, cluster_purity, mode_coverage
from gmlib.metrics.sample_quality import (
    SampleQuality,
    class_accuracy,
    density_coverage,
    fdd,
    fdd_floor,
    frechet_distance,
    gaussian_fit,
    mmd,
    precision_recall,
    sample_quality,
)

__all__ = ["DigitClassifier", "ModeCoverage", "SampleQuality", "bits_per_dim", "class_accuracy",
           "classifier_weights_path", "cluster_purity", "dataset_log_likelihood",
           "density_coverage", "dequantized_log_likelihood", "digit_classifier",
           "digit_features", "fdd", "fdd_floor", "frechet_distance", "gaussian_fit", "mmd",
           "mode_coverage", "nats_to_bits", "nll", "precision_recall", "sample_quality",
           "train_digit_classifier"]
