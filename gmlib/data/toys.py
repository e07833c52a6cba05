"""Two-dimensional toy data sets: moons, a ring of Gaussians, a checkerboard, spirals.

Each generator is a pure function of `(n, seed)`, so figures and tests are reproducible, and
returns float32 points of shape (n, 2) roughly inside [-4, 4]^2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gmlib.validation import check_nonnegative, check_positive_int

__all__ = ["TOY_DATASETS", "checkerboard", "ring_modes", "ring_of_gaussians", "spirals",
           "toy_dataset", "two_moons"]


def _generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def two_moons(n: int, *, noise: float = 0.05, seed: int | None = 0) -> Tensor:
    """Two interleaving half circles, centred and scaled to about [-2, 2] x [-1, 1].

    Shapes:
        returns (n, 2)
    """
    check_positive_int(n, "n")
    check_nonnegative(noise, "noise")
    gen = _generator(seed)
    which = torch.rand(n, generator=gen) < 0.5
    angle = torch.rand(n, generator=gen) * math.pi
    upper = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    lower = torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)
    x = torch.where(which[:, None], upper, lower)
    x = x + noise * torch.randn(n, 2, generator=gen)
    return ((x - torch.tensor([0.5, 0.25])) * 1.6).float()


def ring_modes(n_modes: int = 8, radius: float = 2.0) -> Tensor:
    """The centres of `ring_of_gaussians`: `n_modes` points evenly spaced on a circle.

    Shapes:
        returns (n_modes, 2)
    """
    check_positive_int(n_modes, "n_modes")
    angles = 2 * math.pi * torch.arange(n_modes) / n_modes
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def ring_of_gaussians(n: int, *, n_modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      seed: int | None = 0) -> Tensor:
    """A mixture of `n_modes` equal-weight isotropic Gaussians on a circle (the GAN
    mode-collapse benchmark of Metz et al. 2017).

    Shapes:
        returns (n, 2)
    """
    check_positive_int(n, "n")
    check_nonnegative(std, "std")
    gen = _generator(seed)
    component = torch.randint(n_modes, (n,), generator=gen)
    return (ring_modes(n_modes, radius)[component] + std * torch.randn(n, 2, generator=gen)).float()


def checkerboard(n: int, *, n_squares: int = 4, size: float = 4.0,
                 seed: int | None = 0) -> Tensor:
    """Uniform on the dark squares of an `n_squares` x `n_squares` board of side `size`.

    A density with sharp edges and holes: hard for smooth models, easy to check by eye.

    Shapes:
        returns (n, 2)
    """
    check_positive_int(n, "n")
    check_positive_int(n_squares, "n_squares")
    gen = _generator(seed)
    cell = size / n_squares
    # pick a dark square (i + j even) uniformly, then a point inside it
    dark = [(i, j) for i in range(n_squares) for j in range(n_squares) if (i + j) % 2 == 0]
    corners = torch.tensor(dark, dtype=torch.float32) * cell - size / 2
    which = torch.randint(len(dark), (n,), generator=gen)
    return corners[which] + cell * torch.rand(n, 2, generator=gen)


def spirals(n: int, *, n_arms: int = 2, noise: float = 0.05, seed: int | None = 0) -> Tensor:
    """`n_arms` interleaved Archimedean spirals of radius up to about 3.

    Shapes:
        returns (n, 2)
    """
    check_positive_int(n, "n")
    check_positive_int(n_arms, "n_arms")
    check_nonnegative(noise, "noise")
    gen = _generator(seed)
    arm = torch.randint(n_arms, (n,), generator=gen)
    t = torch.sqrt(torch.rand(n, generator=gen))  # sqrt: uniform density along the arm length
    angle = 3 * math.pi * t + 2 * math.pi * arm / n_arms
    r = 3 * t
    x = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)
    return (x + noise * torch.randn(n, 2, generator=gen)).float()


TOY_DATASETS = {
    "moons": two_moons,
    "ring": ring_of_gaussians,
    "checkerboard": checkerboard,
    "spirals": spirals,
}


def toy_dataset(name: str, n: int, *, seed: int | None = 0) -> Tensor:
    """One of `TOY_DATASETS` by name, with its default settings.

    Shapes:
        returns (n, 2)
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"name must be one of {sorted(TOY_DATASETS)}; got {name!r}")
    return TOY_DATASETS[name](n, seed=seed)
