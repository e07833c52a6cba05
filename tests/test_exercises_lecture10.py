"""Each checker of lecture 10 recognises the typical mistakes and says what is wrong."""

import math

import torch

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def test_langevin_step():
    assert _verdict("10.1", lambda x, s, h, z: x + h / 2 * s(x) + math.sqrt(h) * z).passed
    for answer, hint in [
        (lambda x, s, h, z: x + h * s(x) + math.sqrt(h) * z, "(step / 2)"),
        (lambda x, s, h, z: x + h / 2 * s(x) + h * z, "sqrt(step)"),
        (lambda x, s, h, z: x - h / 2 * s(x) + math.sqrt(h) * z, "sign"),
        (lambda x, s, h, z: x + h / 2 * s(x), "gradient ascent"),
        (lambda x, s, h, z: x[:, 0], "shape"),
    ]:
        verdict = _verdict("10.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_denoising_score_matching():
    def right(s, x, sigma, eps):
        return 0.5 * (s(x + sigma * eps) + eps / sigma).pow(2).sum(-1)

    assert _verdict("10.2", right).passed
    for answer, hint in [
        (lambda s, x, g, e: 0.5 * (s(x + g * e) - e / g).pow(2).sum(-1), "sign"),
        (lambda s, x, g, e: 0.5 * (s(x + g * e) + e).pow(2).sum(-1), "divide eps"),
        (lambda s, x, g, e: 0.5 * (s(x + g * e) + e / g ** 2).pow(2).sum(-1), "not eps / sigma^2"),
        (lambda s, x, g, e: 0.5 * (s(x) + e / g).pow(2).sum(-1), "noisy point"),
        (lambda s, x, g, e: right(s, x, g, e).mean(), "one per example"),
    ]:
        verdict = _verdict("10.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_log_partition():
    assert _verdict("10.3", lambda v, a: torch.logsumexp(v, 0) + math.log(a)).passed
    for answer, hint in [
        (lambda v, a: torch.log(torch.exp(v).sum() * a), "logsumexp"),
        (lambda v, a: torch.logsumexp(v, 0), "cell area"),
        (lambda v, a: v + a, "one number"),
    ]:
        verdict = _verdict("10.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _annealed_reference(score, x, sigmas, n_steps_each, step_lr, generator, *,
                        steps_scale=True, noise_scale=1.0, reverse=False):
    levels = list(reversed(sigmas)) if reverse else list(sigmas)
    for sigma in levels:
        step = step_lr * (sigma / sigmas[-1]) ** 2 if steps_scale else step_lr
        for _ in range(n_steps_each):
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            x = x + step / 2 * score(x, sigma) + noise_scale * math.sqrt(step) * z
    return x


def test_annealed_langevin():
    assert _verdict("10.6", _annealed_reference).passed
    for kwargs, hint in [({"steps_scale": False}, "did not move between the modes"),
                         ({"noise_scale": math.sqrt(2)}, "more noise"),
                         ({"reverse": True}, "anneal from the largest")]:
        def answer(*args, kwargs=kwargs):
            return _annealed_reference(*args, **kwargs)

        verdict = _verdict("10.6", answer)
        assert verdict.status == "incorrect" and hint in verdict.message, verdict.message
