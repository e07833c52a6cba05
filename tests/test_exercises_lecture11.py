"""Each checker of lecture 11 recognises the typical mistakes and says what is wrong."""

import math

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def test_q_sample():
    assert _verdict("11.1", lambda x, a, z: math.sqrt(a) * x + math.sqrt(1 - a) * z).passed
    for answer, hint in [(lambda x, a, z: a * x + (1 - a) * z, "square roots"),
                         (lambda x, a, z: math.sqrt(1 - a) * x + math.sqrt(a) * z, "swapped"),
                         (lambda x, a, z: x, "sqrt(alpha_bar)")]:
        verdict = _verdict("11.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_posterior_mean():
    def right(x0, xt, beta, a, a_prev):
        return (math.sqrt(a_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - a_prev) * xt) / (1 - a)

    assert _verdict("11.2", right).passed
    for answer, hint in [
        (lambda x0, xt, b, a, p: right(xt, x0, b, a, p), "swapped"),
        (lambda x0, xt, b, a, p: (p * b * x0 + (1 - b) * (1 - p) * xt) / (1 - a), "square roots"),
        (lambda x0, xt, b, a, p: xt, "complete the square"),
    ]:
        verdict = _verdict("11.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_ddim_step():
    def right(xt, eps, a_t, a_s):
        x0 = (xt - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        return math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * eps

    assert _verdict("11.3", right).passed
    for answer, hint in [
        (lambda xt, e, a_t, a_s: math.sqrt(a_s) * xt + math.sqrt(1 - a_s) * e, "x0_hat"),
        (lambda xt, e, a_t, a_s: (xt - math.sqrt(1 - a_t) * e) / math.sqrt(a_t), "level s"),
    ]:
        verdict = _verdict("11.3", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _euler(time_of, size):
    def answer(v, x, steps):
        for i in range(steps):
            x = x + size(steps) * v(x, time_of(i, steps))
        return x
    return answer


def test_euler_flow():
    assert _verdict("11.4", _euler(lambda i, n: i / n, lambda n: 1 / n)).passed
    for answer, hint in [
        (_euler(lambda i, n: 0.0, lambda n: 1 / n), "advance the time"),
        (_euler(lambda i, n: (i + 1) / n, lambda n: 1 / n), "start of each step"),
        (_euler(lambda i, n: i / n, lambda n: 1.0), "step size"),
    ]:
        verdict = _verdict("11.4", answer)
        assert verdict.status == "incorrect" and hint in verdict.message
