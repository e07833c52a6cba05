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
            "sample is 90.8 +- 5.7 nats, while the mode has NLL 58.8, about 5.6 standard "
            "deviations more likely than any typical sample.")
