"""Checks for the exercises of lecture 15 (outlier detection)."""

from __future__ import annotations

import math

import torch

from gmlib.exercises.answers import expect_tuple
from gmlib.exercises.core import Incorrect, exercise
from gmlib.outliers import roc_auc


@exercise("15.1", "AUC by counting pairs")
def _auc(answer: object) -> str:
    gen = torch.Generator().manual_seed(0)
    inliers = torch.randint(0, 8, (40,), generator=gen).double()  # many ties
    outliers = torch.randint(3, 12, (30,), generator=gen).double()
    got = answer(inliers, outliers)
    want = roc_auc(torch.cat([inliers, outliers]),
                   torch.cat([torch.zeros(40), torch.ones(30)]))
    try:
        value = float(got)
    except (TypeError, ValueError) as error:
        raise Incorrect(f"return a number (the AUC); got {type(got).__name__}") from error
    if math.isclose(value, want, abs_tol=1e-9):
        return (f"AUC = {want:.4f}: the share of (outlier, inlier) pairs the score orders "
                "correctly, ties counting one half; the Mann-Whitney statistic.")
    greater = float((outliers[:, None] > inliers[None]).double().mean())
    if math.isclose(value, greater, abs_tol=1e-9):
        raise Incorrect("ties between an outlier and an inlier count one half")
    if math.isclose(value, 1 - want, abs_tol=1e-9):
        raise Incorrect("that is P(inlier > outlier): a higher score should mean more "
                        "likely an outlier")
    raise Incorrect("compare every outlier's score with every inlier's: P(out > in) + "
                    "P(out = in) / 2")


@exercise("15.2", "Where a Gaussian's samples live")
def _gaussian_typical(answer: object) -> str:
    for d in (1, 16, 64, 784):
        got = expect_tuple(answer(d), ("mean", "std"))
        mean, std = 0.5 * d * math.log(2 * math.pi) + 0.5 * d, math.sqrt(d / 2)
        if not (math.isclose(float(got[0]), mean, rel_tol=1e-9)
                and math.isclose(float(got[1]), std, rel_tol=1e-9)):
            if math.isclose(float(got[0]), 0.5 * d * math.log(2 * math.pi), rel_tol=1e-9):
                raise Incorrect("that is the NLL at the mode x = 0; samples have |x|^2 = D "
                                "on average, which adds D / 2")
            if math.isclose(float(got[1]), math.sqrt(2 * d), rel_tol=1e-9) or \
                    math.isclose(float(got[1]), math.sqrt(d), rel_tol=1e-9):
                raise Incorrect("|x|^2 is chi-squared with D degrees of freedom, variance 2D; "
                                "the NLL has half of it, so its variance is D / 2")
            raise Incorrect(f"for D = {d}: NLL = (D log 2 pi + |x|^2) / 2, with |x|^2 "
                            "chi-squared (mean D, variance 2D)")
    return ("mean D/2 log(2 pi e), standard deviation sqrt(D/2): in D = 64 the NLL of a "
            "sample is 90.8 +- 5.7 nats, while the mode has NLL 58.8, about 5.7 standard "
            "deviations below the mean sample NLL.")


def _typicality_case() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    train = 100 + 10 * torch.randn(3000, generator=gen, dtype=torch.float64)
    val = 100 + 10 * torch.randn(800, generator=gen, dtype=torch.float64)
    return train, val


def _batch_rejections(fitted: tuple[float, float], values: torch.Tensor, m: int) -> float:
    entropy, threshold = fitted
    batches = values[: len(values) // m * m].view(-1, m)
    return float(((batches.mean(1) - entropy).abs() > threshold).double().mean())


@exercise("15.3", "A typicality test for batches")
def _typicality_test(answer: object) -> str:
    train, val = _typicality_case()
    m, alpha = 10, 0.05
    got = expect_tuple(answer(train.clone(), val.clone(), m, alpha), ("entropy", "threshold"))
    try:
        entropy, threshold = float(got[0]), float(got[1])
    except (TypeError, ValueError) as error:
        raise Incorrect("return a tuple (entropy, threshold) of two numbers") from error
    if not math.isclose(entropy, float(train.mean()), rel_tol=1e-9):
        if math.isclose(entropy, float(val.mean()), rel_tol=1e-9):
            raise Incorrect("estimate H on the training NLLs; the validation NLLs set the "
                            "threshold; using them for both ignores the error in H, and "
                            "the test then fires more often than alpha")
        raise Incorrect("H is the mean training NLL, an estimate of the model's entropy")
    # reference: the (1 - alpha) quantile of |mean of M - H| over many bootstrap batches
    gen = torch.Generator().manual_seed(1)
    deviations = val[torch.randint(len(val), (200_000, m), generator=gen)].mean(1) - entropy
    stats = deviations.abs()
    want = float(torch.quantile(stats, 1 - alpha))
    single = float(torch.quantile((val - entropy).abs(), 1 - alpha))
    one_sided = float(torch.quantile(deviations, 1 - alpha))
    if abs(threshold - want) > 0.05 * want:
        if abs(threshold - single) < 0.1 * single:
            raise Incorrect("that is the threshold for single inputs: the mean of M NLLs "
                            "varies about sqrt(M) times less, so bootstrap batches of M")
        if abs(threshold - float(torch.quantile(stats, alpha))) < 0.2 * want:
            raise Incorrect("the threshold is the (1 - alpha) quantile of the statistic, so "
                            "that only a share alpha of clean batches exceeds it")
        if abs(threshold - one_sided) < 0.05 * want:
            raise Incorrect("the test is two-sided: take |mean NLL - H|, or batches that are "
                            "too likely (simpler than the data) go unflagged")
        raise Incorrect(f"the threshold {threshold:.3f} is far from {want:.3f}, the (1 - alpha) "
                        "quantile of |mean NLL of M resampled validation NLLs - H|")
    clean = 100 + 10 * torch.randn(20_000, generator=gen, dtype=torch.float64)
    easy = 94 + 10 * torch.randn(20_000, generator=gen, dtype=torch.float64)
    false_alarms = _batch_rejections((entropy, threshold), clean, m)
    caught = _batch_rejections((entropy, threshold), easy, m)
    return (f"H = {entropy:.2f}, threshold {threshold:.3f}: on fresh clean batches of {m} the "
            f"test fires {100 * false_alarms:.1f}% of the time (alpha = {100 * alpha:.0f}%), "
            f"and it flags {100 * caught:.0f}% of batches whose inputs are 6 nats *more* "
            "likely than typical, which a likelihood threshold would wave through.")
