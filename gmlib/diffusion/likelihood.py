"""The Gaussian pieces of the diffusion bound: KL between diagonal Gaussians and the
discretised Gaussian decoder of grey levels.

References:
    Ho et al. 2020, Denoising diffusion probabilistic models (section 3.3),
    https://arxiv.org/abs/2006.11239
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["discretized_gaussian_log_likelihood", "normal_kl"]


def normal_kl(mean1: Tensor, var1: Tensor, mean2: Tensor, var2: Tensor) -> Tensor:
    """KL(N(mean1, var1) || N(mean2, var2)) elementwise (sum it over dimensions yourself).

    Shapes:
        broadcastable tensors -> their broadcast shape
    """
    return 0.5 * (torch.log(var2) - torch.log(var1) + (var1 + (mean1 - mean2) ** 2) / var2 - 1)


def discretized_gaussian_log_likelihood(x: Tensor, mean: Tensor, std: Tensor,
                                        n_levels: int) -> Tensor:
    """log P(x) for grey levels scaled to [-1, 1] under N(mean, std^2) integrated over each
    level's bin of width 2 / (n_levels - 1); the two end bins reach to -inf and +inf, so the
    probabilities of the levels sum to 1 exactly.

    Shapes:
        x, mean, std: broadcastable, x on the grid -1 + 2k / (n_levels - 1) -> elementwise
    """
    log_ndtr = torch.special.log_ndtr  # log Phi, accurate far in both tails
    half = 1.0 / (n_levels - 1)
    upper = (x + half - mean) / std
    lower = (x - half - mean) / std
    log_cdf_upper = log_ndtr(upper)
    log_survival_lower = log_ndtr(-lower)
    # P = Phi(upper) - Phi(lower), computed as Phi(upper) (1 - Phi(lower) / Phi(upper))
    middle = log_cdf_upper + torch.log1p(
        -torch.exp(log_ndtr(lower) - log_cdf_upper).clamp(max=1 - 1e-12))
    # in the right tail 1 - Phi is more accurate: P = S(lower) - S(upper)
    right = log_survival_lower + torch.log1p(
        -torch.exp(log_ndtr(-upper) - log_survival_lower).clamp(max=1 - 1e-12))
    inner = torch.where(mean > x, middle, right)
    top, bottom = x > 1 - half, x < -1 + half
    return torch.where(bottom, log_cdf_upper, torch.where(top, log_survival_lower, inner))
