import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from gmlib.data import digits, two_moons
from gmlib.train import History
from gmlib.viz import (
    covariance_ellipses,
    density_grid,
    density_heatmap,
    draw_dag,
    image_grid,
    make_grid,
    plot_history,
    real_vs_generated,
    scatter2d,
)


def test_make_grid_shape_and_padding():
    grid = make_grid(torch.ones(10, 1, 8, 8), nrow=4)
    assert grid.shape == (3 * 9 - 1, 4 * 9 - 1)
    assert np.isnan(grid[8, 0]) and grid[0, 0] == 1.0
    assert make_grid(torch.zeros(4, 64)).shape == (17, 17)  # flat images, square grid


def test_make_grid_errors():
    with pytest.raises(ValueError, match="square number of pixels"):
        make_grid(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="images is empty"):
        make_grid(torch.zeros(0, 8, 8))
    with pytest.raises(ValueError, match=r"must have shape \(N, H, W\)"):
        make_grid(torch.zeros(2, 3, 8, 8))


def test_plots_draw_without_error():
    x = digits("test")
    ax = image_grid(x[:16], title="digits")
    assert ax.get_title() == "digits"
    fig = real_vs_generated(x, x.flip(0), n=9)
    assert len(fig.axes) == 2
    gaussian = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    ax = density_heatmap(gaussian.log_prob, resolution=50, samples=two_moons(100))
    assert ax.get_xlabel() == "$x_1$"
    scatter2d(two_moons(50))
    plot_history(History(train_loss=[3.0, 2.0], val_loss=[3.5, 2.5], best_epoch=1))
    plt.close("all")


def test_density_grid_is_normalised_for_a_gaussian():
    gaussian = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    xs, ys, log_density = density_grid(gaussian.log_prob, resolution=201)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert float(np.exp(log_density).sum() * cell) == pytest.approx(1.0, abs=1e-3)


def test_scatter_checks_its_input():
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\)"):
        scatter2d(torch.zeros(3, 3))


def test_draw_dag_draws_one_arrow_per_edge():
    graph = {"a": [], "b": ["a"], "c": ["a", "b"]}
    ax = draw_dag(graph, {"a": (0, 1), "b": (1, 1), "c": (0.5, 0)}, shaded=["c"], title="g")
    assert len([t for t in ax.texts if t.get_text() == ""]) == 3  # arrows are empty annotations
    assert {t.get_text() for t in ax.texts} >= {"a", "b", "c"}
    with pytest.raises(ValueError, match=r"no \(x, y\) for \['c'\]"):
        draw_dag(graph, {"a": (0, 0), "b": (1, 1)})
    plt.close("all")


def test_covariance_ellipses_axes_follow_the_eigenvectors():
    _, ax = plt.subplots()
    rotation = torch.tensor([[0.6, -0.8], [0.8, 0.6]], dtype=torch.float64)
    cov = rotation @ torch.diag(torch.tensor([4.0, 0.25], dtype=torch.float64)) @ rotation.T
    (ellipse,) = covariance_ellipses(torch.zeros(1, 2), cov[None], ax=ax, n_std=1.0)
    assert ellipse.width == pytest.approx(4.0) and ellipse.height == pytest.approx(1.0)
    assert ellipse.angle == pytest.approx(np.degrees(np.arctan2(0.8, 0.6)))
    with pytest.raises(ValueError, match=r"means \(K, 2\)"):
        covariance_ellipses(torch.zeros(1, 3), torch.eye(3)[None], ax=ax)
    plt.close("all")


def test_plot_study_draws_every_seed_and_a_bar_per_arm():
    from gmlib.viz import plot_study
    result = {"arms": {"a": {"score": [1.0, 2.0, 3.0]}, "b": {"score": [2.0, 2.0, 5.0]}}}
    ax = plot_study(result, "score")
    dots = [c for c in ax.collections if len(c.get_offsets()) == 3]
    assert len(dots) == 2 and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.get_ylabel() == "score"
