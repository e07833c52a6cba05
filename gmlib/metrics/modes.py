"""Mode coverage on a mixture of known modes (the 2-D ring of Gaussians of lecture 09).

A sample is *high quality* when it lies within `n_std` standard deviations of the mode
nearest to it; a mode is *covered* when at least `min_share` of all samples are high-quality
samples of that mode. This is the protocol of the unrolled-GAN and VEEGAN papers, with a
share threshold instead of a single sample so that a few stray points do not count as a mode.

References:
    Metz et al. 2017, Unrolled generative adversarial networks, https://arxiv.org/abs/1611.02163
    Srivastava et al. 2017, VEEGAN, https://arxiv.org/abs/1705.07761
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gmlib.validation import check_finite, check_tensor

__all__ = ["ModeCoverage", "cluster_purity", "mode_coverage"]


@dataclass(frozen=True)
class ModeCoverage:
    """How a sample set covers K known modes.

    Attributes:
        modes_covered: modes holding at least `min_share` of the samples as high-quality ones.
        n_modes: K.
        high_quality: share of all samples within `n_std` sd of their nearest mode.
        shares: (K,) share of all samples that are high-quality samples of each mode.
    """

    modes_covered: int
    n_modes: int
    high_quality: float
    shares: Tensor


def mode_coverage(samples: Tensor, modes: Tensor, std: float, *, n_std: float = 3.0,
                  min_share: float = 0.01) -> ModeCoverage:
    """Modes covered and the high-quality share of `samples` around the known `modes`.

    Args:
        samples: (N, D) generated points.
        modes: (K, D) the centres of the true mixture components.
        std: their (isotropic) standard deviation.
        n_std: radius of a high-quality sample, in standard deviations (3 by convention).
        min_share: the share of samples a mode needs to count as covered (1% by default;
            a uniform spread over 8 modes gives each 12.5%).
    """
    for value, name in ((samples, "samples"), (modes, "modes")):
        check_finite(check_tensor(value, name), name)
        if value.dim() != 2:
            raise ValueError(f"{name} must have shape (N, D); got {tuple(value.shape)}")
    if samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples and modes must have the same dimension; got "
                         f"{samples.shape[1]} and {modes.shape[1]}")
    if not std > 0 or not n_std > 0:
        raise ValueError(f"std and n_std must be positive; got {std} and {n_std}")
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1]; got {min_share}")
    distances = torch.cdist(samples.double().cpu(), modes.double().cpu())  # (N, K)
    nearest_distance, nearest = distances.min(1)
    good = nearest_distance <= n_std * std
    shares = torch.bincount(nearest[good], minlength=len(modes)).double() / len(samples)
    return ModeCoverage(modes_covered=int((shares >= min_share).sum()), n_modes=len(modes),
                        high_quality=float(good.double().mean()), shares=shares)


def cluster_purity(clusters: Tensor, labels: Tensor) -> float:
    """Purity of a clustering: each cluster is credited with its most frequent true label.

    purity = (1/N) sum_k max_y |{i : cluster_i = k, label_i = y}|; 1 when every cluster holds
    one class. Used for InfoGAN's categorical code, found without labels.

    Shapes:
        clusters: (N,) ints >= 0, labels: (N,) ints >= 0
    """
    for value, name in ((clusters, "clusters"), (labels, "labels")):
        check_tensor(value, name)
        if value.dim() != 1 or value.is_floating_point() or bool((value < 0).any()):
            raise ValueError(f"{name} must be a 1-D tensor of non-negative ints; got "
                             f"{value.dtype} of shape {tuple(value.shape)}")
    if len(clusters) != len(labels) or len(labels) == 0:
        raise ValueError(f"clusters and labels must have the same non-zero length; got "
                         f"{len(clusters)} and {len(labels)}")
    clusters, labels = clusters.cpu().long(), labels.cpu().long()
    n_labels = int(labels.max()) + 1
    table = torch.bincount(clusters * n_labels + labels,
                           minlength=(int(clusters.max()) + 1) * n_labels)
    return float(table.reshape(-1, n_labels).max(1).values.sum()) / len(labels)
