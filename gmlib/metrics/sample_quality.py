"""Sample quality for models with no likelihood: FDD, MMD, precision/recall, density/coverage.

Every metric compares two sets of digits through the features of the course's classifier
(`gmlib.metrics.classifier`), as FID does through Inception's:

* `frechet_distance` fits a Gaussian to each feature set and returns the squared Frechet
  (2-Wasserstein) distance between the fits; `fdd` applies it to digits: the **Frechet digit
  distance**. Its floor, `fdd_floor()`, is the distance between the real training and test
  digits, measured like a model's 1000 samples: no model should be expected to beat it.
  The classifier never saw either split (it is trained on "val"), so the floor is what
  held-out real digits score, not what memorised ones do.
* `mmd`: the unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel
  (works on any vectors, e.g. 2-D samples against exact ones).
* `precision_recall`: the share of generated samples inside the real data's k-NN manifold
  (quality) and of real samples inside the generated one (coverage).
* `density_coverage`: the same questions asked with the real data's balls only, which
  straying samples cannot inflate: how many real balls hold each sample (density), and the
  share of real balls that hold any sample (coverage).
* `class_accuracy`: how often a conditional model's samples are classified as their label.

References:
    Heusel et al. 2017 (FID), https://arxiv.org/abs/1706.08500
    Gretton et al. 2012, A kernel two-sample test, https://jmlr.org/papers/v13/gretton12a.html
    Kynkaanniemi et al. 2019, Improved precision and recall metric for assessing generative
    models, https://arxiv.org/abs/1904.06991
    Naeem et al. 2020, Reliable fidelity and diversity metrics for generative models,
    https://arxiv.org/abs/2002.09797
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from gmlib.data import digits
from gmlib.metrics.classifier import DigitClassifier, _as_images, digit_classifier, digit_features
from gmlib.validation import check_finite, check_labels, check_positive_int, check_tensor

__all__ = ["SampleQuality", "class_accuracy", "density_coverage", "fdd", "fdd_floor",
           "frechet_distance", "gaussian_fit", "mmd", "precision_recall", "sample_quality"]


def _as_vectors(x: Tensor, name: str, *, minimum: int = 2) -> Tensor:
    check_tensor(x, name)
    if x.dim() != 2:
        raise ValueError(f"{name} must be a matrix of feature vectors (N, D); got shape "
                         f"{tuple(x.shape)}")
    if x.shape[0] < minimum:
        raise ValueError(f"{name} needs at least {minimum} rows; got {x.shape[0]}")
    return check_finite(x, name).double().cpu()


def gaussian_fit(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased covariance of a feature set, in float64.

    Shapes:
        features: (N, D) -> returns mean (D,) and covariance (D, D)
    """
    f = _as_vectors(features, "features")
    mean = f.mean(0)
    centred = f - mean
    return mean, centred.T @ centred / (f.shape[0] - 1)


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """Squared Frechet distance between Gaussian fits of two feature sets.

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2), the
    2-Wasserstein distance between N(mu_a, S_a) and N(mu_b, S_b) (Dowson & Landau 1982).
    The symmetric form avoids the complex round-off of scipy's sqrtm(S_a S_b).

    Shapes:
        features_a: (N, D), features_b: (M, D) -> a float >= 0
    """
    mean_a, cov_a = gaussian_fit(features_a)
    mean_b, cov_b = gaussian_fit(features_b)
    if mean_a.shape != mean_b.shape:
        raise ValueError(f"the feature sets must have the same dimension; got {mean_a.shape[0]} "
                         f"and {mean_b.shape[0]}")
    root_a = _sqrtm_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    value = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return max(float(value), 0.0)  # round-off can leave -1e-12 for identical sets


def _reference(reference: Tensor | str) -> Tensor:
    if isinstance(reference, str):
        return digits(reference)
    return _as_images(reference, "reference")


def fdd(samples: Tensor, reference: Tensor | str = "test", *,
        classifier: DigitClassifier | None = None) -> float:
    """Frechet digit distance between generated digits and real ones (lower is better).

    Args:
        samples: generated digits, grey levels 0..16, (N, 1, 8, 8) or (N, 64).
        reference: real digits, or the name of a split of `gmlib.data.digits` ("test" is the
            course's protocol; compare 1000 samples with it, as the floor does).
        classifier: the feature extractor; the course's `digit_classifier()` by default.
    """
    classifier = digit_classifier() if classifier is None else classifier
    return frechet_distance(digit_features(_as_images(samples, "samples"), classifier),
                            digit_features(_reference(reference), classifier))


def fdd_floor(classifier: DigitClassifier | None = None) -> float:
    """FDD of the 1000 real training digits against the 447 test digits: a reference for a
    model drawing 1000 samples, not a bound (both sets are finite, and the splits are taken
    by position, so the test digits may come from other writers; a model can score below
    it). The default classifier saw neither split."""
    return fdd(digits("train"), "test", classifier=classifier)


def _squared_distances(a: Tensor, b: Tensor) -> Tensor:
    return torch.cdist(a, b).square()


def mmd(x: Tensor, y: Tensor, *, bandwidth: float | None = None) -> float:
    """Unbiased estimate of MMD^2 with the Gaussian kernel exp(-|a - b|^2 / (2 h^2)).

    Args:
        x, y: two samples of vectors, (N, D) and (M, D), N, M >= 2.
        bandwidth: h; the median pairwise distance of the pooled samples by default.

    Returns:
        MMD^2 (Gretton et al. 2012, eq. 3): ~0 when x and y come from the same distribution;
        it can be slightly negative then, since the estimate is unbiased.
    """
    x, y = _as_vectors(x, "x"), _as_vectors(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension; got {x.shape[1]} and "
                         f"{y.shape[1]}")
    if bandwidth is None:
        pooled = torch.cat([x, y])
        distances = torch.cdist(pooled, pooled)
        off_diagonal = distances[~torch.eye(len(pooled), dtype=torch.bool)]
        bandwidth = float(off_diagonal.median())
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive; got {bandwidth}")
    scale = -1.0 / (2 * bandwidth**2)
    k_xx = (scale * _squared_distances(x, x)).exp()
    k_yy = (scale * _squared_distances(y, y)).exp()
    k_xy = (scale * _squared_distances(x, y)).exp()
    n, m = len(x), len(y)
    term_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    term_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(term_x + term_y - 2 * k_xy.mean())


def _knn_radii(points: Tensor, k: int) -> Tensor:
    distances = torch.cdist(points, points)
    return distances.kthvalue(k + 1, dim=1).values  # the 0th neighbour is the point itself


def _inside_manifold(queries: Tensor, points: Tensor, radii: Tensor) -> Tensor:
    return (torch.cdist(queries, points) <= radii).any(1)


def precision_recall(real: Tensor, generated: Tensor, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of two feature sets.

    Each set's manifold is the union of balls around its points whose radius is the distance
    to the k-th nearest neighbour. Precision: the share of generated points inside the real
    manifold; recall: the share of real points inside the generated one.

    Shapes:
        real: (N, D), generated: (M, D), N, M > k -> (precision, recall)
    """
    check_positive_int(k, "k")
    real = _as_vectors(real, "real", minimum=k + 1)
    generated = _as_vectors(generated, "generated", minimum=k + 1)
    precision = _inside_manifold(generated, real, _knn_radii(real, k)).double().mean()
    recall = _inside_manifold(real, generated, _knn_radii(generated, k)).double().mean()
    return float(precision), float(recall)


def density_coverage(real: Tensor, generated: Tensor, *, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of generated feature vectors against real ones.

    Only the real points get balls (radius: the distance to their k-th nearest real
    neighbour), so a generated outlier cannot make a large ball of its own, which is what
    inflates recall. Density: the number of real balls holding each generated point, summed
    and divided by k M; about 1 when the two sets come from one distribution, above 1 when
    samples crowd where real points are dense. Coverage: the share of real balls holding at
    least one generated point, in [0, 1]. The paper uses k = 5.

    Shapes:
        real: (N, D), generated: (M, D), N > k, M >= 1 -> (density, coverage)
    """
    check_positive_int(k, "k")
    real = _as_vectors(real, "real", minimum=k + 1)
    generated = _as_vectors(generated, "generated", minimum=1)
    if generated.shape[1] != real.shape[1]:
        raise ValueError(f"real and generated must have the same dimension; got "
                         f"{real.shape[1]} and {generated.shape[1]}")
    inside = torch.cdist(generated, real) <= _knn_radii(real, k)  # (M, N): sample in ball
    density = inside.double().sum() / (k * len(generated))
    coverage = inside.any(0).double().mean()
    return float(density), float(coverage)


def class_accuracy(samples: Tensor, labels: Tensor, *,
                   classifier: DigitClassifier | None = None) -> float:
    """Share of generated digits that the classifier assigns to the label they were drawn for.

    Shapes:
        samples: (N, 1, 8, 8) or (N, 64), labels: (N,) in 0..9
    """
    samples = _as_images(samples, "samples")
    labels = check_labels(labels, 10, len(samples), "labels")
    classifier = digit_classifier() if classifier is None else classifier
    return float((classifier.predict(samples).cpu() == labels.cpu()).double().mean())


@dataclass(frozen=True)
class SampleQuality:
    """Every sample metric of one set of generated digits against a real reference set."""

    fdd: float
    mmd: float
    precision: float
    recall: float
    density: float
    coverage: float
    accuracy: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def sample_quality(samples: Tensor, reference: Tensor | str = "test", *,
                   labels: Tensor | None = None,
                   classifier: DigitClassifier | None = None) -> SampleQuality:
    """FDD, MMD^2, precision/recall (k = 3) and density/coverage (k = 5) on classifier
    features, and the class accuracy when the samples were drawn for given `labels`."""
    classifier = digit_classifier() if classifier is None else classifier
    fake = digit_features(_as_images(samples, "samples"), classifier)
    real = digit_features(_reference(reference), classifier)
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    accuracy = None if labels is None else class_accuracy(samples, labels,
                                                          classifier=classifier)
    return SampleQuality(fdd=frechet_distance(fake, real), mmd=mmd(fake, real),
                         precision=precision, recall=recall, density=density,
                         coverage=coverage, accuracy=accuracy)
