"""Checks for the exercises of lecture 08 (normalizing flows)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from gmlib.exercises.answers import expect_tensor, expect_tuple
from gmlib.exercises.core import Incorrect, exercise
from gmlib.flows import Logit, Squeeze

F64 = torch.float64


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _normal_log_prob(z: Tensor) -> Tensor:
    return -0.5 * z**2 - 0.5 * math.log(2 * math.pi)


@exercise("08.1", "Change of variables by hand")
def _log_normal(answer: object) -> str:
    x = torch.rand(50, generator=_gen(), dtype=F64) * 5 + 0.01
    got = expect_tensor(answer(x), (50,), "(n,)")
    want = torch.distributions.LogNormal(0.0, 1.0).log_prob(x)
    if torch.allclose(got, want, atol=1e-8):
        return ("log p(x) = log N(log x) - log x: the density of z, times |dz/dx| = 1/x. "
                "It equals torch's LogNormal.")
    if torch.allclose(got, _normal_log_prob(torch.log(x)), atol=1e-8):
        raise Incorrect("the density of z evaluated at z = log x is not yet a density in x: "
                        "multiply by |dz/dx| = 1/x, i.e. add log |dz/dx| = -log x")
    if torch.allclose(got, _normal_log_prob(torch.log(x)) + torch.log(x), atol=1e-8):
        raise Incorrect("the Jacobian term has the wrong sign: |dz/dx| = 1/x, so add -log x")
    if torch.allclose(got, _normal_log_prob(x), atol=1e-8):
        raise Incorrect("that is the density of z at x; first map x back to z = log x")
    raise Incorrect("with z = log x: log p(x) = log N(z; 0, 1) + log |dz/dx|")


def _conditioner(x1: Tensor) -> Tensor:
    """The fixed network of exercises 08.2-08.3: (B, 1) -> (B, 2) = (s, t)."""
    if not isinstance(x1, Tensor) or x1.dim() != 2 or x1.shape[1] != 1:
        found = tuple(x1.shape) if isinstance(x1, Tensor) else type(x1).__name__
        raise Incorrect(f"net reads the kept half only: call it on x[:, :1], shape (B, 1); "
                        f"you passed {found}")
    return torch.cat([torch.tanh(1.5 * x1 - 0.3), 2 * x1**2 - 1], 1)


def _coupling(x: Tensor) -> tuple[Tensor, Tensor]:
    s, t = _conditioner(x[:, :1]).unbind(1)
    return torch.stack([x[:, 0], x[:, 1] * s.exp() + t], 1), s


@exercise("08.2", "An affine coupling layer")
def _coupling_forward(answer: object) -> str:
    x = torch.randn(40, 2, generator=_gen(), dtype=F64)
    z, log_det = expect_tuple(answer(x, _conditioner), ("z", "log_det"))
    z = expect_tensor(z, (40, 2), "(B, 2)")
    log_det = expect_tensor(log_det, (40,), "(B,)")
    want_z, want_log_det = _coupling(x)
    s, t = _conditioner(x[:, :1]).unbind(1)
    if not torch.allclose(z[:, 0], x[:, 0], atol=1e-10):
        raise Incorrect("z_1 must equal x_1: the first coordinate is the one the coupling "
                        "keeps fixed (it is what the network reads)")
    if not torch.allclose(z, want_z, atol=1e-8):
        if torch.allclose(z[:, 1], (x[:, 1] + t) * s.exp(), atol=1e-8):
            raise Incorrect("scale first, then shift: z_2 = x_2 exp(s) + t")
        raise Incorrect("z_2 = x_2 exp(s) + t, with (s, t) = net(x_1)")
    if torch.allclose(log_det, s.exp(), atol=1e-8):
        raise Incorrect("the log-determinant is log exp(s) = s, not exp(s)")
    if torch.allclose(log_det, -s, atol=1e-8):
        raise Incorrect("sign: dz_2/dx_2 = exp(s), so log |det J| = +s")
    if not torch.allclose(log_det, want_log_det, atol=1e-8):
        raise Incorrect("the Jacobian is triangular with diagonal (1, exp(s)): log |det| = s")
    return "z = (x_1, x_2 e^s + t), log |det J| = s: no determinant was ever computed."


@exercise("08.3", "Inverting the coupling")
def _coupling_inverse(answer: object) -> str:
    x = torch.randn(40, 2, generator=_gen(), dtype=F64)
    z, _ = _coupling(x)
    got = expect_tensor(answer(z, _conditioner), (40, 2), "(B, 2)")
    if torch.allclose(got, x, atol=1e-8):
        return ("x_1 = z_1, then (s, t) = net(z_1) and x_2 = (z_2 - t) e^{-s}: the network "
                "itself is never inverted, so it can be any network.")
    s, t = _conditioner(z[:, :1]).unbind(1)
    if torch.allclose(got[:, 1], z[:, 1] * (-s).exp() - t, atol=1e-8):
        raise Incorrect("undo the steps in reverse order: subtract t first, then divide by "
                        "exp(s)")
    if torch.allclose(got[:, 1], (z[:, 1] - t) * s.exp(), atol=1e-8):
        raise Incorrect("divide by exp(s) (multiply by exp(-s)) to undo the scaling")
    raise Incorrect("x_1 = z_1; x_2 = (z_2 - t) exp(-s) with (s, t) = net(z_1)")


@exercise("08.4", "Squeeze")
def _squeeze(answer: Callable[[Tensor], Tensor]) -> str:
    x = torch.randn(3, 2, 4, 6, generator=_gen(), dtype=F64)
    got = expect_tensor(answer(x), (3, 8, 2, 3), "(B, 4C, H/2, W/2)")
    want = Squeeze()(x)[0]
    if torch.equal(got, want):
        return ("each 2x2 block of a channel became 4 channels at one position: the same "
                "numbers, so log |det| = 0, and now a channel mask can split neighbours.")
    # any fixed order of the 4C values at each position is as good a squeeze: find the
    # channel permutation at one position, then check it holds everywhere
    first, target = got[0, :, 0, 0], want[0, :, 0, 0]
    match = (first[:, None] == target[None, :]).nonzero()
    if len(match) == len(first) and torch.equal(match[:, 0], torch.arange(len(first))):
        permutation = match[:, 1]
        if torch.equal(got, want[:, permutation]):
            return ("a valid squeeze: every position holds the 2x2 blocks of every channel. "
                    "Your channel order differs from gmlib's Squeeze, which is fine for a "
                    "flow.")
    if torch.equal(got, x.reshape(3, 8, 2, 3)):
        raise Incorrect("a plain reshape puts whole rows into the new channels, not 2x2 "
                        "blocks: reshape to (B, C, H/2, 2, W/2, 2), then permute")
    raise Incorrect("output channel 4c + 2i + j at (h, w) should hold x[c, 2h + i, 2w + j]")


@exercise("08.5", "The logit layer's log-determinant")
def _logit_log_det(answer: object) -> str:
    gen = _gen()
    x = torch.rand(30, 64, generator=gen, dtype=F64) * 17
    got = expect_tensor(answer(x, 17, 0.05), (30,), "(B,)")
    want = Logit(17, alpha=0.05)(x)[1]
    if torch.allclose(got, want, atol=1e-8):
        return ("sum_d [log((1 - 2 alpha) / K) - log p_d - log(1 - p_d)]: the logit stretches "
                "the box (0, K) onto the whole real line.")
    p = 0.05 + 0.9 * x / 17
    no_scale = (-torch.log(p) - torch.log1p(-p)).sum(1)
    if torch.allclose(got, no_scale, atol=1e-8):
        raise Incorrect("the chain rule also has the first step, x -> p = alpha + "
                        "(1 - 2 alpha) x / K, with derivative (1 - 2 alpha) / K per pixel")
    if torch.allclose(got, -want, atol=1e-8):
        raise Incorrect("sign: d logit(p) / dp = 1 / (p (1 - p)) > 1, so the terms "
                        "-log p - log(1 - p) are positive")
    if torch.allclose(got[:, None].expand(30, 64), Logit(17, alpha=0.05)(x)[0], atol=1e-8):
        raise Incorrect("that is the transformed value; return the log-determinant")
    raise Incorrect("log |dz/dx| per pixel is log((1 - 2 alpha) / K) - log p - log(1 - p), "
                    "with p = alpha + (1 - 2 alpha) x / K; sum over the pixels")


def _stack_reference(x: Tensor, nets: list, *, no_log_det: bool = False,
                     minus_log_det: bool = False, no_constant: bool = False,
                     same_half: bool = False, reversed_order: bool = False) -> Tensor:
    """log p(x) of 2-D affine couplings with a N(0, I) base; the flags are usual mistakes."""
    z, log_det = x, torch.zeros(len(x), dtype=x.dtype)
    order = list(enumerate(nets))
    for i, net in reversed(order) if reversed_order else order:
        keep = 0 if same_half else i % 2
        s, t = net(z[:, keep:keep + 1]).unbind(1)
        changed = z[:, 1 - keep] * s.exp() + t
        z = torch.stack([z[:, 0], changed] if keep == 0 else [changed, z[:, 1]], 1)
        log_det = log_det + s
    base = -0.5 * (z**2).sum(1) - (0.0 if no_constant else math.log(2 * math.pi))
    if no_log_det:
        return base
    return base - log_det if minus_log_det else base + log_det


def _small_nets(seed: int, n: int = 4) -> list[torch.nn.Module]:
    torch.manual_seed(seed)
    nets = [torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 2)).double() for _ in range(n)]
    for net in nets:
        with torch.no_grad():
            net[2].weight.mul_(0.5)
    return nets


@exercise("08.7", "A RealNVP in two dimensions, whole")
def _realnvp_2d(answer: object) -> str:
    from gmlib.data import two_moons

    nets = _small_nets(0)
    x = torch.randn(64, 2, generator=_gen(), dtype=F64)
    got = expect_tensor(answer(x, nets), (64,), "(B,)")
    want = _stack_reference(x, nets)
    if not torch.allclose(got, want, atol=1e-8):
        mistakes = {
            "no_log_det": "add the log-determinants: log p(x) = log N(f(x)) + sum of every "
                          "layer's log |det J|",
            "minus_log_det": "sign: the density of x is the base density at f(x) *times* "
                             "|det J_f(x)|, so add the log-determinants",
            "no_constant": "the standard normal's log-density in 2-D is -|z|^2 / 2 - log(2 pi)",
            "same_half": "alternate the halves: layer i keeps coordinate i % 2 and changes "
                         "the other, or the first coordinate is never transformed",
            "reversed_order": "apply the layers in the order given, nets[0] first: f = f_K o "
                              "... o f_1 maps data to noise",
        }
        for flag, message in mistakes.items():
            if torch.allclose(got, _stack_reference(x, nets, **{flag: True}), atol=1e-8):
                raise Incorrect(message)
        raise Incorrect(f"your log p(x) differs from the change of variables by up to "
                        f"{float((got - want).abs().max()):.3g}")
    # normalised: the density integrates to one over a box that holds its mass
    grid = torch.linspace(-7, 7, 281, dtype=F64)
    points = torch.stack(torch.meshgrid(grid, grid, indexing="xy"), -1).reshape(-1, 2)
    with torch.no_grad():
        mass = float(answer(points, nets).exp().sum()) * float(grid[1] - grid[0]) ** 2
    if abs(mass - 1) > 0.02:
        raise Incorrect(f"your density integrates to {mass:.3f} over the box, not 1")
    # and trainable: maximum likelihood on the two moons with your log-density
    nets = _small_nets(1)
    data = two_moons(1024, noise=0.08, seed=0).double()
    optimiser = torch.optim.Adam([p for net in nets for p in net.parameters()], lr=1e-2)
    with torch.no_grad():
        before = float(-answer(data, nets).mean())
    for _ in range(150):
        optimiser.zero_grad()
        (-answer(data, nets).mean()).backward()
        optimiser.step()
    with torch.no_grad():
        after = float(-answer(data, nets).mean())
    if not after < before - 0.5:
        raise Incorrect(f"150 Adam steps on your log-density moved the NLL only from "
                        f"{before:.2f} to {after:.2f} nats")
    return f"the change of variables, layer by layer: exact, normalised (mass {mass:.3f} on " \
           f"the box), and trainable (the moons' NLL fell from {before:.2f} to {after:.2f})."
