"""Plots for the lectures: image grids, real-vs-generated panels, 2-D densities, curves.

Models never plot; lectures call these. Images use a grey colour map with no interpolation,
so every 8x8 pixel is seen as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from gmlib.validation import check_positive_int, check_tensor

if TYPE_CHECKING:  # matplotlib is imported lazily: importing gmlib must stay cheap
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from gmlib.gans import GANHistory
    from gmlib.train import History

__all__ = ["covariance_ellipses", "density_grid", "density_heatmap", "draw_dag", "image_grid",
           "make_grid", "plot_gan_history", "plot_history", "plot_study", "real_vs_generated",
           "scatter2d"]


def _as_images(images: Tensor | np.ndarray) -> np.ndarray:
    """(N, H, W) float array from (N, H, W), (N, 1, H, W) or (N, D) with D a square."""
    array = images.detach().cpu().float().numpy() if isinstance(images, Tensor) else np.asarray(
        images, dtype=np.float32)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side * side != array.shape[1]:
            raise ValueError(f"flat images need a square number of pixels; got {array.shape[1]}")
        array = array.reshape(-1, side, side)
    if array.ndim != 3:
        raise ValueError("images must have shape (N, H, W), (N, 1, H, W) or (N, D); got "
                         f"{tuple(array.shape)}")
    return array


def make_grid(images: Tensor | np.ndarray, *, nrow: int | None = None, pad: int = 1,
              pad_value: float = np.nan) -> np.ndarray:
    """Tile N images into one array, `nrow` images per row (a square-ish grid by default).

    Padding is NaN so that it shows as the background, not as a grey level.

    Shapes:
        images: (N, H, W), (N, 1, H, W) or (N, D)
        returns (rows * (H + pad) - pad, nrow * (W + pad) - pad)
    """
    array = _as_images(images)
    n, h, w = array.shape
    if n == 0:
        raise ValueError("images is empty")
    nrow = nrow or math.ceil(math.sqrt(n))
    check_positive_int(nrow, "nrow")
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) - pad, nrow * (w + pad) - pad), pad_value, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = array[i]
    return grid


def image_grid(images: Tensor | np.ndarray, *, nrow: int | None = None, ax: Axes | None = None,
               title: str | None = None, vmin: float | None = 0.0,
               vmax: float | None = None) -> Axes:
    """Show a grid of grey images (0 = black) without interpolation."""
    import matplotlib.pyplot as plt

    grid = make_grid(images, nrow=nrow)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    cmap = plt.get_cmap("gray").with_extremes(bad="white")  # padding (NaN) shows as white
    ax.imshow(grid, cmap=cmap, interpolation="nearest", vmin=vmin,
              vmax=vmax if vmax is not None else float(np.nanmax(grid)) or 1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def real_vs_generated(real: Tensor, generated: Tensor, *, n: int = 36,
                      titles: Sequence[str] = ("Real (test set)", "Generated"),
                      vmax: float | None = None) -> Figure:
    """Two grids side by side, on one grey scale, so samples are judged against data."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    top = vmax if vmax is not None else float(max(real[:n].max(), generated[:n].max()))
    image_grid(real[:n], ax=axes[0], title=titles[0], vmax=top)
    image_grid(generated[:n], ax=axes[1], title=titles[1], vmax=top)
    fig.tight_layout()
    return fig


def density_grid(log_prob: Callable[[Tensor], Tensor], *, xlim: tuple[float, float] = (-4, 4),
                 ylim: tuple[float, float] = (-4, 4),
                 resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate a 2-D log-density on a regular grid.

    Returns:
        `(xs, ys, log_density)` with log_density of shape (resolution, resolution), rows
        indexed by y.
    """
    check_positive_int(resolution, "resolution")
    xs = torch.linspace(*xlim, resolution)
    ys = torch.linspace(*ylim, resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    with torch.no_grad():
        values = log_prob(points)
    check_tensor(values, "log_prob(points)")
    return xs.numpy(), ys.numpy(), values.detach().cpu().reshape(resolution, resolution).numpy()


def density_heatmap(log_prob: Callable[[Tensor], Tensor], *, xlim: tuple[float, float] = (-4, 4),
                    ylim: tuple[float, float] = (-4, 4), resolution: int = 200,
                    samples: Tensor | None = None, ax: Axes | None = None,
                    title: str | None = None) -> Axes:
    """Heat map of exp(log_prob) over a 2-D box, optionally with samples on top."""
    import matplotlib.pyplot as plt

    _, _, log_density = density_grid(log_prob, xlim=xlim, ylim=ylim, resolution=resolution)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(np.exp(log_density), origin="lower", extent=(*xlim, *ylim), cmap="viridis",
              interpolation="nearest", aspect="equal")
    if samples is not None:
        pts = samples.detach().cpu().numpy()
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c="white", alpha=0.5)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def scatter2d(points: Tensor, *, ax: Axes | None = None, title: str | None = None,
              s: float = 2.0, lim: float | None = 4.0) -> Axes:
    """Scatter plot of 2-D points with equal axes."""
    import matplotlib.pyplot as plt

    pts = points.detach().cpu().numpy()
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2); got {tuple(pts.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.6)
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def covariance_ellipses(means: Tensor, covariances: Tensor, *, ax: Axes,
                        n_std: float = 2.0, **style: object) -> list:
    """Draw the n_std-standard-deviation ellipse of each 2-D Gaussian component.

    The ellipse {x : (x - mu)^T Sigma^{-1} (x - mu) = n_std^2} has semi-axes n_std sqrt(lambda_i)
    along Sigma's eigenvectors; a collapsed component (lambda -> 0) draws as a line or a dot.

    Shapes:
        means: (K, 2), covariances: (K, 2, 2); returns the K patches added to `ax`
    """
    from matplotlib.patches import Ellipse

    means = check_tensor(means, "means").detach().cpu().double()
    covariances = check_tensor(covariances, "covariances").detach().cpu().double()
    if means.ndim != 2 or means.shape[1] != 2 or tuple(covariances.shape) != (len(means), 2, 2):
        raise ValueError(f"need means (K, 2) and covariances (K, 2, 2); got "
                         f"{tuple(means.shape)} and {tuple(covariances.shape)}")
    eigenvalues, eigenvectors = torch.linalg.eigh(covariances)
    style = {"fill": False, "lw": 1.5, **style}
    patches = []
    for mean, lam, vec in zip(means, eigenvalues.clamp_min(0), eigenvectors, strict=True):
        angle = math.degrees(math.atan2(float(vec[1, 1]), float(vec[0, 1])))
        width, height = (2 * n_std * float(v.sqrt()) for v in (lam[1], lam[0]))
        patches.append(ax.add_patch(Ellipse((float(mean[0]), float(mean[1])), width, height,
                                            angle=angle, **style)))
    return patches


def plot_history(history: History, *, ax: Axes | None = None,
                 ylabel: str = "loss (nats per example)") -> Axes:
    """Training and validation loss per epoch."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, label="train")
    if history.val_loss:
        ax.plot(epochs[: len(history.val_loss)], history.val_loss, label="validation")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_study(result: dict, metric: str, *, ax: Axes | None = None,
               ylabel: str | None = None) -> Axes:
    """One metric of a multi-seed study (`gmlib.bench.studies`): every seed as a dot, and
    the mean with one standard deviation as a bar, per arm."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    arms = list(result["arms"])
    for k, arm in enumerate(arms):
        values = np.asarray(result["arms"][arm][metric], dtype=float)
        ax.scatter(np.full(len(values), k), values, color=f"C{k}", s=18, zorder=3)
        ax.errorbar(k + 0.18, values.mean(), values.std(ddof=1), fmt="_", color="k", ms=14,
                    capsize=4)
    ax.set_xticks(range(len(arms)), arms)
    ax.set_xlim(-0.5, len(arms) - 0.5)
    ax.set_ylabel(ylabel or metric.replace("_", " "))
    return ax


def plot_gan_history(history: GANHistory, *, ax: Axes | None = None,
                     window: int = 50) -> Axes:
    """Both players' losses per step of `gmlib.gans.train_gan`, smoothed by a moving average."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for name, values in (("discriminator", history.discriminator_loss),
                         ("generator", history.generator_loss)):
        values = np.asarray(values, dtype=float)
        width = max(1, min(window, len(values)))
        smooth = np.convolve(values, np.ones(width) / width, mode="valid")
        ax.plot(np.arange(width, len(values) + 1), smooth, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (moving average of {window} steps)")
    ax.legend()
    return ax


def draw_dag(parents: dict[str, Sequence[str]], positions: dict[str, tuple[float, float]], *,
             ax: Axes | None = None, labels: dict[str, str] | None = None,
             shaded: Sequence[str] = (), title: str | None = None) -> Axes:
    """Draw a directed graph: one circle per variable, an arrow from each parent to its child.

    Args:
        parents: `{variable: [its parents]}`.
        positions: `{variable: (x, y)}` in data coordinates.
        labels: text shown in each node (default: the variable's name).
        shaded: observed variables, drawn filled (the convention of graphical-model figures).
    """
    import matplotlib.pyplot as plt

    missing = [v for v in parents if v not in positions]
    if missing:
        raise ValueError(f"positions has no (x, y) for {missing}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    labels = labels or {}
    node_style = {"boxstyle": "circle,pad=0.35", "ec": "0.2", "lw": 1.2}
    for child, its_parents in parents.items():
        for parent in its_parents:
            ax.annotate("", xy=positions[child], xytext=positions[parent],
                        arrowprops={"arrowstyle": "-|>", "color": "0.25", "lw": 1.2,
                                    "shrinkA": 16, "shrinkB": 16})
    for v, (x, y) in positions.items():
        color = "0.75" if v in shaded else "white"
        ax.text(x, y, labels.get(v, v), ha="center", va="center", fontsize=10,
                bbox={**node_style, "fc": color})
    xs, ys = zip(*positions.values(), strict=True)
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
