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


def _blocks(x: Tensor) -> Tensor:
    """The values of each 2x2 block, sorted: (B, C, H/2, W/2, 4)."""
    b, c, h, w = x.shape
    blocks = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5)
    return blocks.reshape(b, c, h // 2, w // 2, 4).sort(-1).values


@exercise("08.4", "Squeeze")
def _squeeze(answer: Callable[[Tensor], Tensor]) -> str:
    x = torch.randn(3, 2, 4, 6, generator=_gen(), dtype=F64)
    got = expect_tensor(answer(x), (3, 8, 2, 3), "(B, 4C, H/2, W/2)")
    want = Squeeze()(x)[0]
    if torch.equal(got, want):
        return ("each 2x2 block of a channel became 4 channels at one position: the same "
                "numbers, so log |det| = 0, and now a channel mask can split neighbours.")
    # any order of the four values of a block (and of the channels) is as good a squeeze
    got_blocks = got.reshape(3, 2, 4, 2, 3).permute(0, 1, 3, 4, 2).sort(-1).values
    if torch.equal(got_blocks, _blocks(x)):
        return ("a valid squeeze: every position holds its 2x2 block. Your channel order "
                "differs from gmlib's Squeeze, which is fine for a flow.")
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
