"""Sample-quality metrics: the digit classifier, FDD, MMD, precision/recall, density/coverage,
the metric sanity table, mode coverage."""

import hashlib
import json
import math
import shutil

import numpy as np
import pytest
import scipy.linalg
import torch

from gmlib.data import digits, ring_modes, ring_of_gaussians
from gmlib.metrics import (
    class_accuracy,
    classifier_weights_path,
    cluster_purity,
    density_coverage,
    digit_classifier,
    digit_features,
    fdd,
    fdd_floor,
    frechet_distance,
    mmd,
    mode_coverage,
    precision_recall,
    sample_quality,
)
from gmlib.metrics.classifier import (
    DigitClassifier,
    _load,
    affine_copies,
    shifted_copies,
    train_digit_classifier,
    write_digit_classifier,
)
from gmlib.metrics.sanity import SANITY_ROWS, metric_sanity_table


@pytest.fixture(scope="module")
def classifier():
    return digit_classifier()


def _accuracy(model, split):
    x, y = digits(split, labels=True)
    return float((model.predict(x) == y).double().mean())


def test_the_classifier_never_saw_the_models_digits_nor_the_reference(classifier):
    record = json.loads(classifier_weights_path().with_suffix(".json").read_text())
    assert record["training_split"] == "val" and set(record["held_out_accuracy"]) == {
        "train", "test"}
    for split in ("train", "test"):  # what the shipped record says is what the weights do
        assert classifier.held_out_accuracy[split] == pytest.approx(_accuracy(classifier, split))
        assert classifier.held_out_accuracy[split] == pytest.approx(
            record["held_out_accuracy"][split])
    assert classifier.held_out_accuracy["train"] >= 0.94
    assert classifier.test_accuracy == classifier.held_out_accuracy["test"] >= 0.96
    assert _accuracy(classifier, "val") >= 0.99  # its own training digits
    assert not classifier.training and not any(p.requires_grad for p in classifier.parameters())


def test_classifier_runs_on_every_device(classifier, device):
    x = digits("test")[:50]
    on_device = digit_classifier(device)
    assert on_device.predict(x.to(device)).device.type == device.type
    assert torch.equal(on_device.predict(x.to(device)).cpu(), classifier.predict(x))
    assert digit_features(x, on_device).shape == (50, 64)


def test_the_weights_ship_inside_the_package_and_round_trip(tmp_path, classifier):
    assert classifier_weights_path().parent.name == "metrics"
    assert classifier_weights_path().name.startswith("digit_classifier_v")
    path = write_digit_classifier(classifier, tmp_path / "copy.pt")
    x = digits("train")
    assert torch.equal(_load(path).predict(x), classifier.predict(x))


def test_a_corrupted_replaced_or_missing_file_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    shutil.copy(classifier_weights_path(), path)
    shutil.copy(classifier_weights_path().with_suffix(".json"), path.with_suffix(".json"))
    assert isinstance(_load(path), DigitClassifier)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        _load(path)
    torch.save({"not": torch.zeros(1)}, path)  # other weights, with a record made for them
    record = json.loads(path.with_suffix(".json").read_text())
    record["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="does not hold DigitClassifier weights"):
        _load(path)
    path.with_suffix(".json").write_text("{}")
    with pytest.raises(ValueError, match="not a record written by write_digit_classifier"):
        _load(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match="python -m gmlib.metrics"):
        _load(path)


@pytest.mark.slow
def test_the_recipe_reproduces_the_shipped_classifier(classifier):
    retrained = train_digit_classifier()
    for split in ("train", "test"):
        assert retrained.held_out_accuracy[split] == pytest.approx(
            classifier.held_out_accuracy[split], abs=0.015)
    x = digits("test")
    agree = float((retrained.predict(x) == classifier.predict(x)).double().mean())
    assert agree >= 0.97


def test_affine_copies_are_small_seeded_warps():
    x = digits("val")[:20]
    warps = affine_copies(x, 3, generator=torch.Generator().manual_seed(0))
    again = affine_copies(x, 3, generator=torch.Generator().manual_seed(0))
    assert warps.shape == (60, 1, 8, 8) and torch.equal(warps, again)
    assert warps.min() >= 0 and warps.max() <= 16  # bilinear resampling stays in range
    ink = x.sum((1, 2, 3)).repeat(3)
    assert ((warps.sum((1, 2, 3)) - ink).abs() / ink).median() < 0.2  # warped, not erased
    assert not torch.equal(warps[:20], x)


def test_shifted_copies_are_the_nine_translations():
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    shifted = shifted_copies(x)
    assert shifted.shape == (9, 1, 8, 8)
    assert torch.equal(shifted[4], x[0])  # (dy, dx) = (1, 1) is no shift
    assert torch.equal(shifted[0, 0, 1:, 1:], x[0, 0, :-1, :-1])  # moved down and right


def test_frechet_distance_matches_the_scipy_formula(seed):
    a = torch.randn(300, 5, dtype=torch.float64) @ torch.randn(5, 5, dtype=torch.float64)
    b = torch.randn(200, 5, dtype=torch.float64) + 0.5
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    cov_a, cov_b = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    expected = (np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b)).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_a_set_to_itself_is_zero_and_a_shift_adds_its_square(seed):
    f = torch.randn(500, 8, dtype=torch.float64)
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-9)
    values = []
    for size in (0.5, 1.0, 2.0):
        delta = size * torch.ones(8, dtype=torch.float64)
        values.append(frechet_distance(f, f + delta))
        assert values[-1] == pytest.approx(float(delta.square().sum()), rel=1e-8)
    assert values == sorted(values)


def test_fdd_is_zero_for_identical_sets_and_grows_with_a_brightness_shift(classifier):
    test = digits("test")
    assert fdd(test, test, classifier=classifier) == pytest.approx(0.0, abs=1e-6)
    scores = [fdd((test + shift).clamp(0, 16), "test", classifier=classifier)
              for shift in (1.0, 2.0, 4.0)]
    assert 0 < scores[0] < scores[1] < scores[2]
    floor = fdd_floor(classifier)
    assert 0 < floor < scores[-1]
    assert fdd(digits("train"), "test", classifier=classifier) == floor


def test_mmd_matches_its_definition_and_separates_distributions(seed):
    x = torch.randn(6, 2, dtype=torch.float64)
    y = torch.randn(5, 2, dtype=torch.float64) + 1

    def k(a, b):
        return math.exp(-float((a - b).square().sum()) / (2 * 0.7**2))

    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    assert mmd(x, y, bandwidth=0.7) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    same = mmd(ring_of_gaussians(500, seed=1), ring_of_gaussians(500, seed=2))
    shifted = mmd(ring_of_gaussians(500, seed=1), ring_of_gaussians(500, seed=2) + 0.5)
    assert abs(same) < 0.01 < shifted


def test_precision_and_recall_on_known_sets(seed):
    real = torch.randn(400, 2, dtype=torch.float64)
    assert precision_recall(real, real) == (1.0, 1.0)
    far = real + 100
    assert precision_recall(real, far) == (0.0, 0.0)
    # samples from one half of the real data: all plausible (precision), half covered (recall)
    half = real[real[:, 0] > 0.5][:, :] * 0.9 + torch.tensor([0.05, 0.0], dtype=torch.float64)
    precision, recall = precision_recall(real, half)
    assert precision > 0.9 and recall < 0.6


def test_density_and_coverage_by_hand():
    # real points 0..9 on a line, k = 1: every ball has radius 1
    real = torch.arange(10, dtype=torch.float64)[:, None]
    # a sample at 0 lies in the balls of 0 and 1: density 2 / (k M), coverage 2 / N
    assert density_coverage(real, torch.zeros(1, 1), k=1) == (2.0, 0.2)
    # a sample at 4.5 lies in the balls of 4 and 5, one at 20 in none
    assert density_coverage(real, torch.tensor([[4.5], [20.0]]), k=1) == (1.0, 0.2)


def test_density_and_coverage_are_not_fooled_by_outliers(seed):
    real = torch.randn(400, 2, dtype=torch.float64)
    same = torch.randn(400, 2, dtype=torch.float64)
    density, coverage = density_coverage(real, same)
    assert 0.8 < density < 1.2 and coverage > 0.9
    assert density_coverage(real, real + 100) == (0.0, 0.0)
    # a model that puts every sample near one real point: high density there, low coverage
    crowded = real[:1] + 0.01 * torch.randn(400, 2, dtype=torch.float64)
    density, coverage = density_coverage(real, crowded)
    assert coverage < 0.05
    # adding scattered outliers: they bring their own huge balls to recall, while coverage,
    # which uses only the real balls, stays where the inliers put it
    outliers = 20 * torch.randn(200, 2, dtype=torch.float64)
    scattered = torch.cat([same[:200], outliers])
    assert precision_recall(real, scattered)[1] >= precision_recall(real, same[:200])[1]
    assert density_coverage(real, scattered)[1] == pytest.approx(
        density_coverage(real, same[:200])[1], abs=0.01)


def test_class_accuracy_of_real_digits_is_the_classifier_accuracy(classifier):
    x, y = digits("test", labels=True)
    assert class_accuracy(x, y, classifier=classifier) == pytest.approx(classifier.test_accuracy)
    assert class_accuracy(x, (y + 1) % 10, classifier=classifier) < 0.05


def test_sample_quality_report(classifier):
    x, y = digits("train", labels=True)  # real digits the classifier never saw
    report = sample_quality(x, labels=y, classifier=classifier)
    assert report.fdd == pytest.approx(fdd(x, "test", classifier=classifier))
    assert 0.5 < report.precision <= 1 and 0.5 < report.recall <= 1
    assert 0.5 < report.density < 1.5 and 0.8 < report.coverage <= 1
    assert abs(report.mmd) < 0.01
    assert report.accuracy == pytest.approx(classifier.held_out_accuracy["train"])
    assert set(report.as_dict()) == {"fdd", "mmd", "precision", "recall", "density",
                                     "coverage", "accuracy"}
    assert sample_quality(x, classifier=classifier).accuracy is None


def test_mode_coverage_of_exact_samples_and_of_a_collapsed_set():
    exact = mode_coverage(ring_of_gaussians(4000, seed=0), ring_modes(), 0.05)
    assert exact.modes_covered == 8 and exact.n_modes == 8
    # the radius of a 2-D Gaussian is Rayleigh: P(r < 3 sd) = 1 - exp(-9/2)
    assert exact.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert float(exact.shares.sum()) == pytest.approx(exact.high_quality)
    collapsed = ring_modes()[2] + 0.05 * torch.randn(1000, 2)
    result = mode_coverage(collapsed, ring_modes(), 0.05)
    assert result.modes_covered == 1 and result.shares[2] == result.high_quality
    hand = torch.tensor([[2.0, 0.0], [2.1, 0.0], [0.0, 2.0], [1.0, 1.0]])
    result = mode_coverage(hand, ring_modes(4), 0.05, min_share=0.25)
    assert result.modes_covered == 2 and result.high_quality == 0.75


def test_cluster_purity():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert cluster_purity(torch.tensor([5, 5, 3, 3, 0, 0]), labels) == 1.0
    assert cluster_purity(torch.zeros(6, dtype=torch.long), labels) == pytest.approx(2 / 6)
    assert cluster_purity(torch.tensor([0, 1, 0, 1, 0, 1]), labels) == pytest.approx(2 / 6)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: fdd(torch.rand(20, 1, 8, 8), "test"), ValueError, "looks binary or scaled"),
    (lambda: fdd(torch.full((20, 64), 30.0), "test"), ValueError, "0..16 scale"),
    (lambda: fdd(torch.zeros(20, 1, 28, 28), "test"), ValueError, r"\(B, 1, 8, 8\) or \(B, 64\)"),
    (lambda: fdd(digits("val"), "nope"), ValueError, "split must be one of"),
    (lambda: fdd(digits("val")[:0], "test"), ValueError, "at least one image"),
    (lambda: frechet_distance(torch.randn(10, 3), torch.randn(10, 4)), ValueError,
     "same dimension"),
    (lambda: frechet_distance(torch.randn(1, 3), torch.randn(10, 3)), ValueError,
     "at least 2 rows"),
    (lambda: mmd(torch.randn(10), torch.randn(10, 2)), ValueError, r"matrix of feature vectors"),
    (lambda: mmd(torch.randn(10, 2), torch.randn(10, 2), bandwidth=0.0), ValueError,
     "bandwidth must be positive"),
    (lambda: precision_recall(torch.randn(3, 2), torch.randn(10, 2)), ValueError,
     "at least 4 rows"),
    (lambda: density_coverage(torch.randn(5, 2), torch.randn(10, 2)), ValueError,
     "at least 6 rows"),
    (lambda: density_coverage(torch.randn(10, 2), torch.randn(10, 3)), ValueError,
     "same dimension"),
    (lambda: density_coverage(torch.randn(10, 2), torch.randn(10, 2), k=0), ValueError,
     "k must be"),
    (lambda: class_accuracy(digits("val")[:5], torch.arange(4)), ValueError,
     r"labels must have shape \(5,\)"),
    (lambda: class_accuracy(digits("val")[:5], torch.tensor([0, 1, 2, 3, 10])), ValueError,
     "class labels 0..9"),
    (lambda: mode_coverage(torch.randn(10, 3), ring_modes(), 0.05), ValueError,
     "same dimension"),
    (lambda: mode_coverage(torch.randn(10, 2), ring_modes(), 0.0), ValueError,
     "must be positive"),
    (lambda: mode_coverage(torch.randn(10, 2), ring_modes(), 0.05, min_share=2), ValueError,
     "min_share"),
    (lambda: cluster_purity(torch.tensor([0.5]), torch.tensor([0])), ValueError,
     "non-negative ints"),
    (lambda: cluster_purity(torch.tensor([0, 1]), torch.tensor([0])), ValueError,
     "same non-zero length"),
    (lambda: fdd([1, 2], "test"), TypeError, "must be a torch.Tensor"),
])
def test_errors_name_what_was_expected(call, error, match, classifier):
    with pytest.raises(error, match=match):
        call()


def test_classifier_is_a_digit_classifier(classifier):
    assert isinstance(classifier, DigitClassifier)
    assert classifier(digits("test")[:3]).shape == (3, 10)


def test_every_metric_ranks_the_sanity_rows_in_their_known_order(classifier):
    """held-out real > noisy real > independent pixels > uniform noise, on each seed's sets,
    for every metric (lower FDD and MMD, higher precision, recall, density, coverage)."""
    table = metric_sanity_table(3, classifier=classifier)
    assert list(table) == list(SANITY_ROWS)
    for seed in range(3):
        rows = [table[name][seed] for name in SANITY_ROWS]
        for metric in ("fdd", "mmd"):
            values = [getattr(r, metric) for r in rows]
            assert values == sorted(values) and len(set(values)) == 4, (metric, values)
        for metric in ("precision", "recall", "density", "coverage"):
            values = [getattr(r, metric) for r in rows]
            assert values == sorted(values, reverse=True) and len(set(values)) == 4, (
                metric, values)
