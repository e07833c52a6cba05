"""Each checker of lecture 08 recognises the typical mistakes and says what is wrong."""

import math

import pytest
import torch

from gmlib.exercises import check

from .verdicts import assert_verdict


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _normal(z):
    return -0.5 * z**2 - 0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x: _normal(torch.log(x)), "multiply by |dz/dx|"),
    (lambda x: _normal(torch.log(x)) + torch.log(x), "wrong sign"),
    (lambda x: _normal(x), "map x back"),
    (lambda x: _normal(torch.log(x)).sum(), "shape (n,)"),
])
def test_log_normal_mistakes(answer, hint):
    verdict = _verdict("08.1", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("08.1", lambda x: _normal(torch.log(x)) - torch.log(x)).passed


def _forward(x, net, *, scale_first=True, log_det=lambda s: s, change_x1=False):
    s, t = net(x[:, :1]).unbind(1)
    z2 = x[:, 1] * s.exp() + t if scale_first else (x[:, 1] + t) * s.exp()
    z1 = x[:, 0] * 2 if change_x1 else x[:, 0]
    return torch.stack([z1, z2], 1), log_det(s)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, net: _forward(x, net, log_det=torch.exp), "not exp(s)"),
    (lambda x, net: _forward(x, net, log_det=lambda s: -s), "= +s"),
    (lambda x, net: _forward(x, net, scale_first=False), "scale first"),
    (lambda x, net: _forward(x, net, change_x1=True), "keeps fixed"),
    (lambda x, net: _forward(x, net)[0], "return a tuple"),
])
def test_coupling_forward_mistakes(answer, hint):
    verdict = _verdict("08.2", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("08.2", _forward).passed


def _inverse(z, net, order="right"):
    s, t = net(z[:, :1]).unbind(1)
    x2 = {"right": (z[:, 1] - t) * (-s).exp(), "order": z[:, 1] * (-s).exp() - t,
          "scale": (z[:, 1] - t) * s.exp()}[order]
    return torch.stack([z[:, 0], x2], 1)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda z, net: _inverse(z, net, "order"), "reverse order"),
    (lambda z, net: _inverse(z, net, "scale"), "divide by exp(s)"),
    (lambda z, net: z, "x_2 = (z_2 - t)"),
])
def test_coupling_inverse_mistakes(answer, hint):
    verdict = _verdict("08.3", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("08.3", _inverse).passed


def _squeeze(x, order=(0, 1, 3, 5, 2, 4)):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(*order).reshape(b, 4 * c, h // 2,
                                                                         w // 2)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x: x.reshape(x.shape[0], 4 * x.shape[1], x.shape[2] // 2, x.shape[3] // 2),
     "plain reshape"),
    (lambda x: x.reshape(x.shape[0], x.shape[1], 2, x.shape[2] // 2, 2, x.shape[3] // 2)
     .permute(0, 1, 2, 4, 3, 5).reshape(x.shape[0], -1, x.shape[2] // 2, x.shape[3] // 2),
     "4c + 2i + j"),
    (lambda x: x[:, :, ::2, ::2], "shape (B, 4C, H/2, W/2)"),
])
def test_squeeze_mistakes(answer, hint):
    verdict = _verdict("08.4", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("08.4", _squeeze).passed
    other_order = _verdict("08.4", lambda x: _squeeze(x, (0, 1, 5, 3, 2, 4)))
    assert other_order.passed and "channel order differs" in other_order.message
    transposed = _verdict("08.4", lambda x: _squeeze(x.transpose(2, 3)).transpose(2, 3))
    assert transposed.passed


def _logit_log_det(x, k, alpha, with_scale=True, sign=1):
    p = alpha + (1 - 2 * alpha) * x / k
    per_pixel = -torch.log(p) - torch.log1p(-p)
    if with_scale:
        per_pixel = per_pixel + math.log((1 - 2 * alpha) / k)
    return sign * per_pixel.sum(1)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, k, a: _logit_log_det(x, k, a, with_scale=False), "chain rule"),
    (lambda x, k, a: _logit_log_det(x, k, a, sign=-1), "sign"),
    (lambda x, k, a: _logit_log_det(x, k, a)[:, None], "shape (B,)"),
    (lambda x, k, a: _logit_log_det(x, 2 * k, a), "sum over the pixels"),
])
def test_logit_log_det_mistakes(answer, hint):
    verdict = _verdict("08.5", answer)
    assert verdict.status == "incorrect" and hint in verdict.message
    assert _verdict("08.5", _logit_log_det).passed


def test_squeeze_in_another_channel_order_passes():
    from gmlib.flows import Squeeze

    def permuted(x):
        y = Squeeze()(x)[0]
        return y[:, torch.randperm(y.shape[1], generator=torch.Generator().manual_seed(3))]

    assert_verdict("08.4", permuted, None)


def test_coupling_that_feeds_the_whole_input_is_named():
    def whole_input(x, net):
        s, _ = net(x).unbind(1)
        return x, s

    assert_verdict("08.2", whole_input, "call it on x[:, :1]")


def _stack_mistake(**flags):
    from gmlib.exercises.lecture08 import _stack_reference
    return lambda x, nets: _stack_reference(x, nets, **flags)


def _stack_log_prob(x, nets):
    """A learner's 2-D RealNVP log-density, written apart from the checker's reference."""
    total = torch.zeros(len(x), dtype=x.dtype)
    for i, net in enumerate(nets):
        keep = i % 2
        s, t = net(x[:, [keep]]).unbind(1)
        new = x.clone()
        new[:, 1 - keep] = x[:, 1 - keep] * s.exp() + t
        x, total = new, total + s
    return total - 0.5 * (x**2).sum(1) - math.log(2 * math.pi)


@pytest.mark.parametrize(("answer", "hint"), [
    (_stack_log_prob, None),
    (_stack_mistake(no_log_det=True), "add the log-determinants"),
    (_stack_mistake(minus_log_det=True), "*times*"),
    (_stack_mistake(no_constant=True), "log(2 pi)"),
    (_stack_mistake(same_half=True), "alternate the halves"),
    (_stack_mistake(reversed_order=True), "nets[0] first"),
])
def test_realnvp_2d_exercise_diagnoses(answer, hint):
    assert_verdict("08.7", answer, hint)
