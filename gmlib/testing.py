"""Property checks that show a model is correct, for the test suite and for learners.

Each check raises `AssertionError` with a sentence saying what failed, and returns the
measured quantity so a lecture can print it:

* `assert_normalized`: sum of exp(log_prob) over every discrete input is 1.
* `assert_autoregressive`: output i does not depend on inputs at or after position i.
* `assert_invertible`: inverse(forward(x)) = x and log|det J| matches autograd's Jacobian.
* `assert_samples_match`: samples follow exp(log_prob) (chi-square goodness of fit).
* `assert_density_normalized`, `assert_density_samples_match`: the same two checks for a
  continuous 2-D density, by integration over a grid of cells (flows, energy models).
* `assert_nondecreasing`: EM's likelihood never goes down.
* `assert_bounds_below`: a latent-variable model's ELBO and importance-weighted bounds stay
  below the exact log-likelihood and tighten as k grows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from gmlib.utils import enumerate_discrete
from gmlib.validation import check_positive_int

__all__ = [
    "assert_autoregressive",
    "assert_bounds_below",
    "assert_density_normalized",
    "assert_density_samples_match",
    "assert_invertible",
    "assert_nondecreasing",
    "assert_normalized",
    "assert_samples_match",
    "cell_probabilities",
    "chi_square_pvalue",
]

LogProbFn = Callable[[Tensor], Tensor]


def _all_inputs(n_dims: int, n_levels: int, event_shape: Sequence[int] | None,
                dtype: torch.dtype, device: torch.device | str) -> Tensor:
    x = enumerate_discrete(n_dims, n_levels, dtype=dtype, device=device)
    return x if event_shape is None else x.reshape(-1, *event_shape)


@torch.no_grad()
def assert_normalized(log_prob: LogProbFn, n_dims: int, *, n_levels: int = 2,
                      event_shape: Sequence[int] | None = None, atol: float = 1e-6,
                      dtype: torch.dtype = torch.float64,
                      device: torch.device | str = "cpu") -> float:
    """Check that a discrete model sums to one over all `n_levels ** n_dims` inputs.

    Args:
        log_prob: maps a batch (N, n_dims) (or (N, *event_shape)) to (N,) log-probabilities.
        n_dims: the number of discrete variables (keep n_levels ** n_dims small).
        n_levels: the values each variable takes, 0..n_levels-1.
        event_shape: reshape the enumerated rows to this shape before calling `log_prob`.
        atol: allowed |total - 1|; compute in float64 for 1e-6.

    Returns:
        The total probability.
    """
    x = _all_inputs(n_dims, n_levels, event_shape, dtype, device)
    log_p = log_prob(x)
    if log_p.shape != (x.shape[0],):
        raise AssertionError(f"log_prob returned shape {tuple(log_p.shape)}; expected "
                             f"({x.shape[0]},)")
    total = float(torch.logsumexp(log_p.double(), 0).exp())
    if not abs(total - 1.0) <= atol:
        raise AssertionError(f"probabilities sum to {total:.10f} over all {x.shape[0]} inputs, "
                             f"not 1 (|error| {abs(total - 1):.2e} > atol {atol:.0e})")
    return total


def assert_autoregressive(fn: Callable[[Tensor], Tensor], n_dims: int, *,
                          order: Sequence[int] | None = None, x: Tensor | None = None,
                          atol: float = 0.0) -> Tensor:
    """Check by gradients that output i depends only on inputs that come before i.

    `fn` maps (B, n_dims) (or (B, n_dims, K), e.g. one-hot inputs) to outputs whose dimension
    1 indexes the same n_dims positions (e.g. (B, D) logits or (B, D, K) categorical logits).
    Under `order` (a permutation:
    `order[r]` is the variable generated r-th), output `order[r]` may depend on the
    inputs `order[:r]` only.

    Returns:
        The (n_dims, n_dims) dependency matrix: entry [i, j] is max |d out_i / d x_j|.
    """
    check_positive_int(n_dims, "n_dims")
    order = list(range(n_dims)) if order is None else [int(i) for i in order]
    if sorted(order) != list(range(n_dims)):
        raise ValueError(f"order must be a permutation of 0..{n_dims - 1}; got {order}")
    if x is None:
        x = torch.rand(4, n_dims, dtype=torch.float64)
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    if out.dim() < 2 or out.shape[1] != n_dims:
        raise AssertionError(f"fn output must have shape (B, {n_dims}, ...); got "
                             f"{tuple(out.shape)}")
    dependency = torch.zeros(n_dims, n_dims, dtype=torch.float64)
    for i in range(n_dims):
        (grad,) = torch.autograd.grad(out[:, i].sum(), x, retain_graph=True, allow_unused=True)
        if grad is not None:
            dependency[i] = grad.abs().reshape(grad.shape[0], n_dims, -1).amax((0, 2)).double()
    rank = {var: r for r, var in enumerate(order)}
    for i in range(n_dims):
        bad = [j for j in range(n_dims) if rank[j] >= rank[i] and dependency[i, j] > atol]
        if bad:
            raise AssertionError(f"output {i} depends on inputs {bad}, which do not come "
                                 f"before it in the order (max |grad| "
                                 f"{float(dependency[i, bad].max()):.2e})")
    return dependency


def assert_invertible(transform: torch.nn.Module, x: Tensor, *, atol: float = 1e-5,
                      check_log_det: bool = True) -> float:
    """Check a flow transform: inverse(forward(x)) = x and its log|det J| is right.

    `transform(x)` must return `(z, log_abs_det)` with log_abs_det of shape (B,), and
    `transform.inverse(z)` must return x. The log-determinant is compared, example by example,
    with `slogdet` of the Jacobian that `torch.autograd.functional.jacobian` computes.
    Use float64 inputs and a small event size.

    Returns:
        The largest error found (reconstruction or log-determinant).
    """
    with torch.no_grad():
        z, log_det = transform(x)
        x_rec = transform.inverse(z)
    if log_det.shape != (x.shape[0],):
        raise AssertionError(f"log_abs_det must have shape ({x.shape[0]},); got "
                             f"{tuple(log_det.shape)}")
    rec_err = float((x_rec - x).abs().max())
    if not rec_err <= atol:
        raise AssertionError(f"inverse(forward(x)) differs from x by up to {rec_err:.2e} "
                             f"(> atol {atol:.0e})")
    worst = rec_err
    if check_log_det:
        event_shape = x.shape[1:]
        for i in range(x.shape[0]):
            def flat_forward(v: Tensor) -> Tensor:
                return transform(v.reshape(1, *event_shape))[0].reshape(-1)

            jac = torch.autograd.functional.jacobian(flat_forward, x[i].reshape(-1))
            sign, logabsdet = torch.linalg.slogdet(jac)
            if float(sign) == 0:
                raise AssertionError(f"the Jacobian at example {i} is singular")
            err = abs(float(logabsdet) - float(log_det[i]))
            if not err <= atol * max(1.0, abs(float(logabsdet))):
                raise AssertionError(f"log|det J| at example {i} is {float(log_det[i]):.6f}; "
                                     f"autograd's Jacobian gives {float(logabsdet):.6f}")
            worst = max(worst, err)
    return worst


def chi_square_pvalue(counts: np.ndarray, probs: np.ndarray, *, min_expected: float = 5.0) -> float:
    """p-value of Pearson's chi-square test that `counts` were drawn from `probs`.

    Cells with fewer than `min_expected` expected counts are pooled into one, as the
    chi-square approximation needs.
    """
    from scipy import stats

    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    n = counts.sum()
    expected = probs / probs.sum() * n
    small = expected < min_expected
    if small.any():
        counts = np.append(counts[~small], counts[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    if len(counts) < 2:
        return 1.0
    statistic = float(((counts - expected) ** 2 / np.maximum(expected, 1e-300)).sum())
    return float(stats.chi2.sf(statistic, df=len(counts) - 1))


@torch.no_grad()
def assert_samples_match(sample: Callable[[int], Tensor], log_prob: LogProbFn, n_dims: int, *,
                         n_levels: int = 2, n_samples: int = 20000, alpha: float = 1e-3,
                         event_shape: Sequence[int] | None = None) -> float:
    """Check that `sample(n)` draws from the distribution `exp(log_prob)` (small discrete models).

    Every one of the `n_levels ** n_dims` states is scored exactly, `n_samples` samples are
    counted per state, and Pearson's chi-square test must not reject at level `alpha`.
    Seed the generators first: with a fixed seed the check is deterministic.

    Returns:
        The p-value.
    """
    check_positive_int(n_samples, "n_samples")
    states = _all_inputs(n_dims, n_levels, event_shape, torch.float64, "cpu")
    probs = log_prob(states).double().exp().cpu().numpy()
    draws = sample(n_samples).reshape(n_samples, -1).double().cpu()
    if draws.shape[1] != n_dims:
        raise AssertionError(f"samples have {draws.shape[1]} values each; expected {n_dims}")
    if bool(((draws < 0) | (draws > n_levels - 1) | (draws != draws.round())).any()):
        raise AssertionError(f"samples must be integers in 0..{n_levels - 1}")
    powers = n_levels ** torch.arange(n_dims - 1, -1, -1, dtype=torch.float64)
    index = (draws * powers).sum(1).long()
    counts = np.bincount(index.numpy(), minlength=len(probs))
    p_value = chi_square_pvalue(counts, probs)
    if not p_value >= alpha:
        raise AssertionError(f"samples do not follow exp(log_prob): chi-square p-value "
                             f"{p_value:.2e} < {alpha:.0e} over {n_samples} samples")
    return p_value


Box = tuple[tuple[float, float], tuple[float, float]]


def cell_probabilities(log_prob: LogProbFn, box: Box, *, bins: int = 10,
                       resolution: int = 16, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """The mass of a 2-D density in each cell of a bins x bins grid over `box`.

    Each cell is integrated by the midpoint rule on resolution x resolution points, so
    smooth densities are integrated to high accuracy; `log_prob` gets points of `dtype`
    (float64 by default: pass the model's dtype), and the sum is taken in float64.

    Args:
        log_prob: maps (N, 2) points to (N,) log-densities.
        box: ((x_min, x_max), (y_min, y_max)).

    Returns:
        (bins, bins) probabilities, indexed [i along x, j along y].
    """
    check_positive_int(bins, "bins")
    check_positive_int(resolution, "resolution")
    (x0, x1), (y0, y1) = box
    n = bins * resolution
    hx, hy = (x1 - x0) / n, (y1 - y0) / n
    xs = x0 + hx * (torch.arange(n, dtype=torch.float64) + 0.5)
    ys = y0 + hy * (torch.arange(n, dtype=torch.float64) + 0.5)
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    with torch.no_grad():
        log_p = log_prob(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(dtype))
    density = log_p.double().exp().cpu().reshape(bins, resolution, bins, resolution)
    return (density.sum((1, 3)) * hx * hy).numpy()


def assert_density_normalized(log_prob: LogProbFn, box: Box, *, rtol: float = 0.01,
                              bins: int = 20, resolution: int = 20,
                              dtype: torch.dtype = torch.float64) -> float:
    """Check that a 2-D density integrates to 1 over `box` (which must hold its mass).

    Returns:
        The integral.
    """
    total = float(cell_probabilities(log_prob, box, bins=bins, resolution=resolution,
                                     dtype=dtype).sum())
    if not abs(total - 1.0) <= rtol:
        raise AssertionError(f"the density integrates to {total:.5f} over {box}, not 1 "
                             f"(|error| {abs(total - 1):.2e} > {rtol:.0e})")
    return total


def assert_density_samples_match(sample: Callable[[int], Tensor], log_prob: LogProbFn,
                                 box: Box, *, bins: int = 10, resolution: int = 16,
                                 n_samples: int = 20000, alpha: float = 1e-3,
                                 dtype: torch.dtype = torch.float64) -> float:
    """Check that `sample(n)` draws from a 2-D density `exp(log_prob)` (chi-square test).

    Samples are counted in a bins x bins grid over `box` plus one cell for everything
    outside it; the expected counts come from `cell_probabilities`. Seed the generators first.

    Returns:
        The p-value.
    """
    probs = cell_probabilities(log_prob, box, bins=bins, resolution=resolution,
                               dtype=dtype).reshape(-1)
    outside = max(1.0 - float(probs.sum()), 0.0)
    draws = sample(n_samples).double().cpu().numpy()
    if draws.shape != (n_samples, 2):
        raise AssertionError(f"samples have shape {draws.shape}; expected ({n_samples}, 2)")
    (x0, x1), (y0, y1) = box
    i = np.floor((draws[:, 0] - x0) / (x1 - x0) * bins).astype(np.int64)
    j = np.floor((draws[:, 1] - y0) / (y1 - y0) * bins).astype(np.int64)
    inside = (i >= 0) & (i < bins) & (j >= 0) & (j < bins)
    counts = np.bincount(i[inside] * bins + j[inside], minlength=bins * bins)
    p_value = chi_square_pvalue(np.append(counts, (~inside).sum()), np.append(probs, outside))
    if not p_value >= alpha:
        raise AssertionError(f"samples do not follow exp(log_prob): chi-square p-value "
                             f"{p_value:.2e} < {alpha:.0e} over {n_samples} samples")
    return p_value


def assert_nondecreasing(values: Sequence[float], *, atol: float = 1e-8,
                         name: str = "lower bound") -> None:
    """Check that a sequence never decreases by more than `atol` (EM's guarantee)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence; got shape {array.shape}")
    drops = np.diff(array)
    if drops.size and drops.min() < -atol:
        step = int(drops.argmin())
        raise AssertionError(f"the {name} decreased from {array[step]:.10g} to "
                             f"{array[step + 1]:.10g} at iteration {step + 1}")


def assert_bounds_below(model: torch.nn.Module, x: Tensor, log_px: Tensor, *,
                        ks: Sequence[int] = (1, 4, 16, 64), n_repeats: int = 64,
                        atol: float = 1e-3, seed: int = 0) -> list[float]:
    """Check ELBO <= IWAE_k <= IWAE_k' <= log p(x) for k < k', on average over draws.

    The bounds are random; their *expectations* are ordered (Burda et al. 2016, theorem 1),
    so each is averaged over `n_repeats` draws (seeded) and over the examples of `x`, and the
    comparisons allow `atol` for the Monte Carlo error.

    Args:
        model: has `elbo(x)` and `iwae_bound(x, k)`.
        x: (B, *event_shape) examples; log_px: (B,) their exact log-likelihoods.

    Returns:
        the mean ELBO followed by the mean bound for each k.
    """
    torch.manual_seed(seed)
    with torch.no_grad():
        means = [float(torch.stack([model.elbo(x) for _ in range(n_repeats)]).mean())]
        for k in ks:
            means.append(float(torch.stack([model.iwae_bound(x, k)
                                            for _ in range(n_repeats)]).mean()))
    exact = float(log_px.mean())
    names = ["ELBO"] + [f"IWAE k={k}" for k in ks]
    for name, value in zip(names, means, strict=True):
        if value > exact + atol:
            raise AssertionError(f"the {name} ({value:.6g}) exceeds the exact log-likelihood "
                                 f"({exact:.6g}): it is not a lower bound")
    assert_nondecreasing(means[1:], atol=atol, name="importance-weighted bound (by k)")
    return means
