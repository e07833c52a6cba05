"""Each checker of lecture 15 recognises the typical mistakes and says what is wrong."""

import math

import torch

from gmlib.exercises import check


def _verdict(exercise_id, answer):
    return check(exercise_id, answer, quiet=True)


def _auc(inliers, outliers, tie=0.5):
    diff = outliers[:, None] - inliers[None]
    return float((diff > 0).double().mean() + tie * (diff == 0).double().mean())


def test_auc_by_pairs():
    assert _verdict("15.1", _auc).passed
    for answer, hint in [(lambda i, o: _auc(i, o, tie=0.0), "one half"),
                         (lambda i, o: _auc(o, i), "higher score"),
                         (lambda i, o: 0.3, "every outlier"),
                         (lambda i, o: "auc", "return a number")]:
        verdict = _verdict("15.1", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def test_gaussian_typical():
    def right(d):
        return 0.5 * d * math.log(2 * math.pi * math.e), math.sqrt(d / 2)

    assert _verdict("15.2", right).passed
    for answer, hint in [(lambda d: (0.5 * d * math.log(2 * math.pi), math.sqrt(d / 2)), "mode"),
                         (lambda d: (right(d)[0], math.sqrt(2 * d)), "variance 2D"),
                         (lambda d: (d, 1.0), "chi-squared"),
                         (lambda d: 3.0, "tuple")]:
        verdict = _verdict("15.2", answer)
        assert verdict.status == "incorrect" and hint in verdict.message


def _typicality(train, val, m, alpha, *, one_sided=False, per_input=False, val_entropy=False):
    entropy = float((val if val_entropy else train).mean())
    gen = torch.Generator().manual_seed(0)
    if per_input:
        deviations = val - entropy
    else:
        deviations = val[torch.randint(len(val), (4000, m), generator=gen)].mean(1) - entropy
    statistic = deviations if one_sided else deviations.abs()
    return entropy, float(torch.quantile(statistic, 1 - alpha))


def test_typicality_test_and_its_usual_mistakes():
    verdict = _verdict("15.3", _typicality)
    assert verdict.passed and "too *likely*" not in verdict.message
    for options, hint in [({"one_sided": True}, "two-sided"),
                          ({"per_input": True}, "threshold for single inputs"),
                          ({"val_entropy": True}, "estimate H on the training NLLs")]:
        verdict = _verdict("15.3", lambda t, v, m, a, o=options: _typicality(t, v, m, a, **o))
        assert verdict.status == "incorrect" and hint in verdict.message, (options, verdict)
    verdict = _verdict("15.3", lambda t, v, m, a: 1.0)
    assert verdict.status == "incorrect" and "(entropy, threshold)" in verdict.message
