import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression as ReferenceLogisticRegression

from gmlib.bayesnet import NaiveBayes
from gmlib.classify import LogisticRegression, accuracy, learning_curve
from gmlib.data import digits


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_logistic_regression_agrees_with_scikit_learn(C):
    x, y = digits("train", binarize=True, flatten=True, labels=True)
    x_test = digits("test", binarize=True, flatten=True)
    ours = LogisticRegression(64, 10, C=C, tol=1e-9, max_iter=2000).fit(x, y)
    reference = ReferenceLogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(
        x.double().numpy(), y.numpy())
    got = ours.predict_proba(x_test).numpy()
    assert np.abs(got - reference.predict_proba(x_test.double().numpy())).max() < 1e-4


def test_logistic_regression_separates_a_toy_problem(device):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=gen)
    y = (x[:, 0] + 2 * x[:, 1] > 0).long()
    model = LogisticRegression(2, 2, C=10.0).to(device).fit(x.to(device), y.to(device))
    assert accuracy(model, x.to(device), y) > 0.97
    assert model.predict_proba(x[:3].to(device)).device.type == device.type


@pytest.mark.parametrize(("call", "match"), [
    (lambda: LogisticRegression(4, 1), "n_classes must be an int >= 2"),
    (lambda: LogisticRegression(4, 3, C=0), "C must be a finite number > 0"),
    (lambda: LogisticRegression(4, 3).fit(torch.zeros(5, 3), torch.zeros(5)),
     r"x must have shape \(batch, 4\)"),
    (lambda: LogisticRegression(4, 3).fit(torch.zeros(5, 4), torch.full((5,), 3)),
     "labels 0..2"),
    (lambda: LogisticRegression(2, 2).fit(torch.tensor([[0.0, float("nan")]]),
                                         torch.zeros(1)), "finite"),
])
def test_logistic_regression_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_learning_curve_is_paired_and_reproducible():
    x, y = digits("train", binarize=True, flatten=True, labels=True)
    x_test, y_test = digits("test", binarize=True, flatten=True, labels=True)
    models = {"naive Bayes": lambda: NaiveBayes(64, 10), "copy": lambda: NaiveBayes(64, 10)}
    curves = learning_curve(models, x, y, x_test, y_test, sizes=[10, 1000], repeats=3, seed=1)
    assert curves["naive Bayes"].shape == (2, 3)
    assert torch.equal(curves["naive Bayes"], curves["copy"])  # same subsets for every model
    assert torch.all(curves["naive Bayes"][1] == curves["naive Bayes"][1, 0])  # all the data
    again = learning_curve(models, x, y, x_test, y_test, sizes=[10, 1000], repeats=3, seed=1)
    assert torch.equal(again["copy"], curves["copy"])
    assert float(curves["copy"][1, 0]) > float(curves["copy"][0].mean())
    with pytest.raises(ValueError, match="exceeds the 1000 examples"):
        learning_curve(models, x, y, x_test, y_test, sizes=[2000])
    with pytest.raises(ValueError, match="same length"):
        learning_curve(models, x, y[:5], x_test, y_test, sizes=[5])


def test_network_classifier_learns_and_fits_the_protocol():
    from torch import nn

    from gmlib.classify import NetworkClassifier

    torch.manual_seed(0)
    x = torch.randn(200, 2)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = NetworkClassifier(nn.Linear(2, 2), epochs=200, lr=5e-2).fit(x, y)
    assert accuracy(model, x, y) > 0.95
    assert model.loss(x[:3], y[:3]).shape == (3,)
    curves = learning_curve({"net": lambda: NetworkClassifier(nn.Linear(2, 2), epochs=50,
                                                              lr=5e-2)},
                            x, y, x, y, sizes=[20, 200], repeats=2)
    assert curves["net"].shape == (2, 2)
    with pytest.raises(ValueError, match="same length"):
        NetworkClassifier(nn.Linear(2, 2)).fit(x, y[:5])
