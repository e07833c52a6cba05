"""A discriminative baseline and learning curves for generative-vs-discriminative comparisons.

`LogisticRegression` models p(y | x) directly, softmax(W x + b), and nothing about x; naive
Bayes (`gmlib.bayesnet.NaiveBayes`) models p(x, y) and classifies by Bayes' rule. Ng & Jordan
(2001) showed the generative model approaches its (higher) asymptotic error with far fewer
examples; `learning_curve` measures both over training-set sizes on repeated random subsets.

References:
    Ng & Jordan, On discriminative vs. generative classifiers: a comparison of logistic
    regression and naive Bayes (NeurIPS 2001).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import torch
from torch import Tensor, nn

from gmlib.train import fit
from gmlib.validation import check_finite, check_int, check_positive_int, check_tensor

__all__ = ["Classifier", "LogisticRegression", "NetworkClassifier", "accuracy", "learning_curve"]


class Classifier(Protocol):
    """Anything with `fit(x, y)` and `predict(x)`, as NaiveBayes and LogisticRegression."""

    def fit(self, x: Tensor, y: Tensor) -> Classifier: ...

    def predict(self, x: Tensor) -> Tensor: ...


class LogisticRegression(nn.Module):
    """Multinomial logistic regression with an L2 penalty, fitted by full-batch L-BFGS.

    Minimises sum_i -log softmax(W x_i + b)_{y_i} + ||W||^2 / (2 C) (the bias is not
    penalised), the objective of scikit-learn's `LogisticRegression(C=C)`, so the two agree.

    Args:
        n_features: D. n_classes: C.
        C: inverse regularisation strength (larger: weaker penalty).
        max_iter: L-BFGS iterations.
        tol: stop when the largest gradient entry falls below `tol`.

    Shapes:
        x: (B, D) real features; y: (B,) labels 0..C-1; predict_proba -> (B, C)
    """

    def __init__(self, n_features: int, n_classes: int, *, C: float = 1.0,
                 max_iter: int = 500, tol: float = 1e-6,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        check_positive_int(n_features, "n_features")
        check_int(n_classes, "n_classes", 2)
        if not (isinstance(C, int | float) and math.isfinite(C) and C > 0):
            raise ValueError(f"C must be a finite number > 0; got {C!r}")
        self.n_features, self.n_classes = n_features, n_classes
        self.C, self.max_iter, self.tol = float(C), check_positive_int(max_iter, "max_iter"), tol
        self.linear = nn.Linear(n_features, n_classes, dtype=dtype)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def _features(self, x: Tensor) -> Tensor:
        check_tensor(x, "x")
        x = x.flatten(1) if x.dim() > 2 else x
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x must have shape (batch, {self.n_features}); got "
                             f"{tuple(x.shape)}")
        check_finite(x, "x")
        return x.to(self.linear.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Logits W x + b, shape (B, C)."""
        return self.linear(self._features(x))

    def fit(self, x: Tensor, y: Tensor) -> LogisticRegression:
        """Minimise the penalised negative log-likelihood from zero weights."""
        x = self._features(x)
        check_tensor(y, "y")
        if y.shape != (len(x),) or bool(((y < 0) | (y >= self.n_classes)).any()):
            raise ValueError(f"y must have shape ({len(x)},) with labels 0..{self.n_classes - 1}")
        y = y.long().to(x.device)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()
        optimizer = torch.optim.LBFGS(self.linear.parameters(), lr=1, max_iter=self.max_iter,
                                      tolerance_grad=self.tol, tolerance_change=1e-12,
                                      history_size=20, line_search_fn="strong_wolfe")

        def objective() -> Tensor:
            optimizer.zero_grad()
            nll = nn.functional.cross_entropy(self.linear(x), y, reduction="sum")
            loss = nll + self.linear.weight.square().sum() / (2 * self.C)
            loss.backward()
            return loss

        optimizer.step(objective)
        return self

    def predict_proba(self, x: Tensor) -> Tensor:
        """p(y | x), shape (B, C)."""
        with torch.no_grad():
            return torch.softmax(self(x), 1)

    def predict(self, x: Tensor) -> Tensor:
        """The most probable class, shape (B,)."""
        with torch.no_grad():
            return self(x).argmax(1)


class NetworkClassifier(nn.Module):
    """A network's logits trained by cross-entropy with `gmlib.train.fit`, sklearn-style.

    Lecture 07 starts `net` from an autoencoder's encoder (features learned without labels)
    and compares it with the same network started at random (seed [003]).

    Args:
        net: (B, *event_shape) -> (B, n_classes) logits (flatten inside it if needed).
        epochs, lr, weight_decay, batch_size: passed to `fit` (AdamW; full batch by default
            for the small labelled sets this is meant for).
        seed: of the shuffling and dropout.
    """

    def __init__(self, net: nn.Module, *, epochs: int = 100, lr: float = 1e-3,
                 weight_decay: float = 0.0, batch_size: int = 1024, seed: int = 0) -> None:
        super().__init__()
        self.net = net
        self.epochs, self.lr, self.weight_decay = epochs, lr, weight_decay
        self.batch_size, self.seed = batch_size, seed

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def loss(self, x: Tensor, c: Tensor) -> Tensor:
        """Cross-entropy of the labels `c` per example (the name `c` is what `fit` passes)."""
        return nn.functional.cross_entropy(self(x), c.long(), reduction="none")

    def fit(self, x: Tensor, y: Tensor) -> NetworkClassifier:
        check_tensor(x, "x")
        check_tensor(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x and y must have the same length; got {len(x)} and {len(y)}")
        fit(self, (x, y), epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay,
            batch_size=self.batch_size, seed=self.seed, device=self._device(), progress=False)
        return self.eval()

    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def predict(self, x: Tensor) -> Tensor:
        """The most probable class, shape (B,)."""
        with torch.no_grad():
            return self(x.to(self._device())).argmax(1)


def accuracy(model: Classifier, x: Tensor, y: Tensor) -> float:
    """Fraction of examples whose predicted class equals the label."""
    return float((model.predict(x).cpu() == y.cpu().long()).double().mean())


def learning_curve(models: Mapping[str, Callable[[], Classifier]], x: Tensor, y: Tensor,
                   x_test: Tensor, y_test: Tensor, *, sizes: Sequence[int], repeats: int = 10,
                   seed: int = 0) -> dict[str, Tensor]:
    """Test accuracy of each model trained on random subsets of each size.

    For every size and repeat, one random subset of the training set (without replacement) is
    drawn and every model is trained on that same subset, so the comparison is paired.

    Args:
        models: `{name: factory}`; each factory returns a fresh, unfitted classifier.
        sizes: training-set sizes, each at most len(x).
        repeats: random subsets per size.

    Returns:
        A dict from each model's name to its accuracies, shape (len(sizes), repeats).
    """
    check_positive_int(repeats, "repeats")
    if len(x) != len(y) or len(x_test) != len(y_test):
        raise ValueError("x and y (and x_test and y_test) must have the same length")
    for size in sizes:
        check_positive_int(size, "sizes entries")
        if size > len(x):
            raise ValueError(f"a training-set size of {size} exceeds the {len(x)} examples")
    generator = torch.Generator().manual_seed(seed)
    result = {name: torch.zeros(len(sizes), repeats, dtype=torch.float64) for name in models}
    for i, size in enumerate(sizes):
        # the whole training set is the same subset every time: fit it once
        for r in range(1 if size == len(x) else repeats):
            subset = torch.randperm(len(x), generator=generator)[:size]
            for name, make in models.items():
                model = make().fit(x[subset], y[subset])
                result[name][i, r:] = accuracy(model, x_test, y_test)
    return result
