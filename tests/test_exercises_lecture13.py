"""Each checker of lecture 13 recognises the typical mistakes and says what is wrong."""

import math

import torch
import torch.nn.functional as F

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def test_thumbnail():
    def right(x):
        b, c, h, w = x.shape
        return x.reshape(b, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))

    assert _verdict("13.1", right).passed
    for answer, hint in [(lambda x: x[..., ::2, ::2], "keeps one pixel"),
                         (lambda x: 4 * F.avg_pool2d(x, 2), "block sum"),
                         (lambda x: x.reshape(x.shape[0], 1, x.shape[2] // 2,
                                              x.shape[3] // 2, 4).mean(-1), "reshape"),
                         (lambda x: x, "shape")]:
        verdict = _verdict("13.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_class_posterior():
    assert _verdict("13.2", lambda ll, lp: torch.softmax(ll + lp, 1)).passed
    for answer, hint in [(lambda ll, lp: torch.softmax(ll, 1), "prior is missing"),
                         (lambda ll, lp: (ll + lp).exp() / (ll + lp).exp().sum(1, True),
                          "log space"),
                         (lambda ll, lp: torch.softmax(ll + lp, 0), "over the classes"),
                         (lambda ll, lp: ll, "proportional")]:
        verdict = _verdict("13.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_replace_observed():
    def right(x_prev, x0, mask, a, noise):
        return mask * (math.sqrt(a) * x0 + math.sqrt(1 - a) * noise) + (1 - mask) * x_prev

    assert _verdict("13.3", right).passed
    for answer, hint in [
        (lambda xp, x0, m, a, e: m * x0 + (1 - m) * xp, "same noise level"),
        (lambda xp, x0, m, a, e: right(xp, x0, 1 - m, a, e), "mask is 1"),
        (lambda xp, x0, m, a, e: xp, "mask * (sqrt(a)"),
    ]:
        verdict = _verdict("13.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _cem_reference(step, reward, s, mean, population=100, elites=10, iterations=3,
                   generator=None, *, largest=True, clip=True):
    b, horizon = mean.shape[:2]
    mean, std = mean[:, None], torch.full((b, 1, horizon, 2), 0.6)
    for _ in range(iterations):
        actions = mean + std * torch.randn(b, population, horizon, 2, generator=generator)
        actions = actions.clamp(-1, 1) if clip else actions
        state, total = s.repeat_interleave(population, 0), torch.zeros(b * population)
        for k in range(horizon):
            state = step(state, actions[:, :, k].reshape(-1, 2), generator)
            total = total + reward(state)
        best = total.view(b, population).topk(elites, dim=1, largest=largest).indices
        chosen = actions[torch.arange(b)[:, None], best]
        mean = chosen.mean(1, keepdim=True)
        std = chosen.std(1, keepdim=True, unbiased=False) + 1e-3
    return mean[:, 0]


def test_cem_plan():
    assert _verdict("13.5", _cem_reference).passed

    def worst(*args, **kwargs):
        return _cem_reference(*args, **kwargs, largest=False)

    def first_only(*args, **kwargs):
        return _cem_reference(*args, **kwargs)[:, 0]

    def unclipped(*args, **kwargs):
        return 3 * _cem_reference(*args, **kwargs)

    def cold_start(step, reward, s, mean, **kwargs):  # ignores the warm start
        return _cem_reference(step, reward, s, torch.zeros_like(mean), **kwargs)

    for answer, hint in [(worst, "largest"), (first_only, "whole refined mean plan"),
                         (unclipped, "clip"), (cold_start, "given mean plan")]:
        verdict = _verdict("13.5", answer)
        assert verdict.status == "incorrect" and hint in verdict.message, verdict.message
