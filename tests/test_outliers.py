"""Outlier detection: ROC/AUC against scikit-learn, the typicality test on a Gaussian whose
mode is atypical, the scores, and the corruptions of the digits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from gmlib.data import DIGITS_LEVELS, digits
from gmlib.independent import IndependentCategorical
from gmlib.outliers import (
    COMPRESSORS,
    CORRUPTIONS,
    TypicalityTest,
    complexity_bits,
    complexity_scores,
    corrupt,
    fpr_at_tpr,
    nll_scores,
    roc_auc,
    roc_curve,
    typicality_scores,
)


def random_problem(seed: int, n: int = 300, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < rng.uniform(0.1, 0.9)
    y[:2] = (True, False)  # both classes present
    scores = rng.normal(size=n) + 0.8 * y
    if ties:  # coarse scores: many ties within and across the classes
        scores = np.round(scores * 2) / 2
    return scores, y


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_auc_matches_sklearn(seed, ties):
    scores, y = random_problem(seed, ties=ties)
    expected = roc_auc_score(y, scores)
    assert roc_auc(scores, y) == pytest.approx(expected, abs=1e-12)
    assert roc_auc(torch.from_numpy(scores), torch.from_numpy(y)) == pytest.approx(expected,
                                                                                   abs=1e-12)
    assert roc_curve(scores, y).auc == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_roc_curve_matches_sklearn_point_for_point(seed):
    scores, y = random_problem(seed, ties=True)
    fpr, tpr, thresholds = sk_roc_curve(y, scores, drop_intermediate=False)
    curve = roc_curve(scores, y)
    np.testing.assert_allclose(curve.fpr, fpr, atol=1e-12)
    np.testing.assert_allclose(curve.tpr, tpr, atol=1e-12)
    np.testing.assert_allclose(curve.thresholds[1:], thresholds[1:])
    assert np.all(np.diff(curve.fpr) >= 0) and np.all(np.diff(curve.tpr) >= 0)


def test_auc_extremes_and_fpr_at_tpr():
    y = np.array([0, 0, 0, 1, 1])
    assert roc_auc([1.0, 2.0, 3.0, 4.0, 5.0], y) == 1.0
    assert roc_auc([5.0, 4.0, 3.0, 2.0, 1.0], y) == 0.0
    assert roc_auc([1.0] * 5, y) == 0.5  # all tied: chance
    # scores 4 and 5 are outliers; an inlier at 4.5 must be flagged before both are caught
    scores = [1.0, 2.0, 4.5, 4.0, 5.0]
    assert fpr_at_tpr(scores, y, 0.5) == 0.0
    assert fpr_at_tpr(scores, y, 1.0) == pytest.approx(1 / 3)


@pytest.mark.parametrize("scores, labels, match", [
    ([1.0, 2.0], [0, 1, 1], "same length"),
    ([[1.0, 2.0]], [[0, 1]], "1-D"),
    ([1.0, 2.0, 3.0], [1, 1, 1], "both outliers"),
    ([1.0, float("nan")], [0, 1], "finite"),
    ([1.0, float("inf")], [0, 1], "finite"),
    ([1.0, 2.0], [0, 2], "0/1"),
])
def test_roc_errors(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(scores, labels)
    with pytest.raises(ValueError, match=match):
        roc_curve(scores, labels)
    with pytest.raises(ValueError, match="tpr"):
        fpr_at_tpr([1.0, 2.0], [0, 1], 0.0)


def gaussian_nll(x: torch.Tensor) -> torch.Tensor:
    """-log N(x; 0, I), float64."""
    d = x.shape[1]
    return 0.5 * (x.pow(2).sum(1) + d * math.log(2 * math.pi))


def test_typicality_catches_the_too_likely_mode_of_a_gaussian():
    """In 64 dimensions, points near the mode are far more likely than any typical sample: a
    density threshold ranks them as the best inliers (AUC near 0), typicality flags them."""
    gen = torch.Generator().manual_seed(0)
    d = 64
    train, val, test = (torch.randn(n, d, generator=gen, dtype=torch.float64)
                        for n in (2000, 2000, 4000))
    near_mode = 0.3 * torch.randn(400, d, generator=gen, dtype=torch.float64)
    nll_in, nll_out = gaussian_nll(test[:400]), gaussian_nll(near_mode)
    y = torch.cat([torch.zeros(400), torch.ones(400)])
    assert roc_auc(torch.cat([nll_in, nll_out]), y) < 0.01
    scores = typicality_scores(torch.cat([nll_in, nll_out]), gaussian_nll(val))
    assert roc_auc(scores, y) > 0.99
    # the entropy estimate is the Gaussian's entropy, d/2 (1 + log 2 pi)
    test_ = TypicalityTest(batch_size=5, alpha=0.05).fit(gaussian_nll(train),
                                                         gaussian_nll(val))
    assert test_.entropy == pytest.approx(d / 2 * (1 + math.log(2 * math.pi)), rel=0.01)
    # false positive rate on fresh inlier batches close to alpha; every mode batch rejected
    fpr = test_.reject(gaussian_nll(test)).double().mean().item()
    assert 0.02 < fpr < 0.09
    assert test_.reject(nll_out).all()
    assert test_.statistic(nll_out).shape == (80,)


def test_typicality_errors():
    test_ = TypicalityTest(batch_size=4)
    with pytest.raises(RuntimeError, match="fit"):
        test_.statistic(torch.ones(8))
    test_.fit(torch.ones(10), torch.ones(10))
    with pytest.raises(ValueError, match="at least batch_size=4"):
        test_.statistic(torch.ones(3))
    with pytest.raises(ValueError, match="1-D"):
        test_.statistic(torch.ones(2, 4))
    with pytest.raises(ValueError, match="alpha"):
        TypicalityTest(alpha=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        TypicalityTest(batch_size=0)
    with pytest.raises(ValueError, match="1-D"):
        typicality_scores(torch.ones(3), torch.ones(0))


def test_nll_scores_are_the_negative_log_likelihood(device):
    x = digits("train", device=device)
    model = IndependentCategorical((1, 8, 8), DIGITS_LEVELS, alpha=0.5).to(device).fit(x)
    test = digits("test", device=device)
    scores = nll_scores(model, test, batch_size=100)
    assert scores.dtype == torch.float64 and scores.device.type == "cpu"
    torch.testing.assert_close(scores, -model.log_prob(test).double().cpu())
    with pytest.raises(ValueError, match="integer levels"):
        nll_scores(model, test + 0.5)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corruptions_stay_on_the_grey_levels(kind, device):
    x = digits("test", device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    out = corrupt(x, kind, generator=gen)
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert torch.equal(out, out.round()) and out.min() >= 0 and out.max() <= 16
    assert not torch.equal(out, x)


def test_corruptions_do_what_they_say():
    x = digits("test")
    gen = torch.Generator().manual_seed(0)
    noisy = corrupt(x, "noise", fraction=0.5, generator=gen)
    changed = (noisy != x).double().mean().item()
    assert changed == pytest.approx(0.5 * 16 / 17, abs=0.02)  # 1/17 of draws keep the level
    assert torch.equal(corrupt(corrupt(x, "flip"), "flip"), x)
    assert torch.equal(corrupt(corrupt(x, "invert"), "invert"), x)
    shifted = corrupt(x, "shift", pixels=1)
    assert torch.equal(shifted[..., 1:, 1:], x[..., :7, :7])
    assert shifted[..., 0, :].abs().sum() == 0 and shifted[..., :, 0].abs().sum() == 0
    assert torch.equal(corrupt(x, "shift", pixels=0), x)
    assert torch.equal(corrupt(x, "noise", fraction=0.0), x)


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "blur"}, "kind must be one of"),
    ({"kind": "noise", "fraction": 1.5}, "fraction"),
    ({"kind": "shift", "pixels": 8}, "pixels"),
])
def test_corruption_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        corrupt(digits("test"), **kwargs)
    with pytest.raises(ValueError):
        corrupt(digits("test", flatten=True), "flip")
    with pytest.raises(ValueError):
        corrupt(digits("test") + 0.5, "flip")


@pytest.mark.parametrize("codec", sorted(COMPRESSORS))
def test_complexity_bits_rank_simple_below_busy_images(codec):
    blank = torch.zeros(1, 1, 8, 8)
    test = digits("test")[:50]
    gen = torch.Generator().manual_seed(0)
    noise = torch.randint(0, DIGITS_LEVELS, (50, 1, 8, 8), generator=gen)
    bits = [complexity_bits(x, codec) for x in (blank, test, noise.float())]
    assert bits[1].shape == (50,) and bits[1].dtype == torch.float64
    assert float(bits[0][0]) < float(bits[1].median()) < float(bits[2].median())
    assert torch.all(bits[1] % 8 == 0)  # whole bytes
    assert torch.equal(complexity_bits(test.flatten(1), codec), bits[1])  # any row shape


def test_complexity_scores_are_bits_beyond_the_complexity():
    nll = torch.tensor([math.log(2) * 100, math.log(2) * 40], dtype=torch.float64)
    bits = torch.tensor([60.0, 50.0], dtype=torch.float64)
    assert torch.allclose(complexity_scores(nll, bits), torch.tensor([40.0, -10.0],
                                                                    dtype=torch.float64))


@pytest.mark.parametrize(("call", "match"), [
    (lambda: complexity_bits(torch.zeros(2, 64), "png"), "compressor must be one of"),
    (lambda: complexity_bits(torch.full((2, 64), 0.5)), "integer values 0..255"),
    (lambda: complexity_bits(torch.full((2, 64), 300.0)), "integer values 0..255"),
    (lambda: complexity_bits(torch.zeros(64)), r"one input per row"),
    (lambda: complexity_scores(torch.zeros(3), torch.zeros(2)), "one length"),
])
def test_complexity_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
