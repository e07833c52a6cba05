"""The EM loop every mixture shares: initialise, alternate E and M steps, keep the best run.

A mixture p(x) = sum_k pi_k p(x | k) has no closed-form maximum-likelihood estimate: the log
of a sum does not split. EM maximises instead the lower bound

    log p(x) >= sum_k q(k) [log pi_k p(x | k) - log q(k)],

with equality when q(k) = p(k | x), the responsibilities (E step); the M step maximises the
bound over the parameters with q fixed, in closed form. Neither step lowers the likelihood
(Dempster, Laird & Rubin 1977; Bishop 2006, section 9.4). Subclasses give the component
densities (`_log_joint`), the M step and how to sample one component.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from gmlib.draws import categorical_draw
from gmlib.estimator import FittedEstimator, check_tol, generator, run_em
from gmlib.validation import Support, check_generator, check_int, check_positive_int

__all__ = ["EMMixture", "initial_responsibilities"]

INIT_METHODS = ("kmeans++", "random")


def _kmeans_plusplus(x: Tensor, k: int, gen: torch.Generator) -> Tensor:
    """Indices of k seeds chosen by k-means++ (Arthur & Vassilvitskii 2007): each new seed is
    drawn with probability proportional to its squared distance to the nearest seed so far."""
    n = len(x)
    chosen = [int(torch.randint(n, (1,), generator=gen))]
    d2 = (x - x[chosen[0]]).square().sum(1)
    for _ in range(1, k):
        total = d2.sum()
        probs = d2 / total if total > 0 else torch.full_like(d2, 1.0 / n)
        index = int(torch.multinomial(probs.double().cpu(), 1, generator=gen))
        chosen.append(index)
        d2 = torch.minimum(d2, (x - x[index]).square().sum(1))
    return torch.tensor(chosen, device=x.device)


def initial_responsibilities(x: Tensor, k: int, method: str, gen: torch.Generator) -> Tensor:
    """Hard responsibilities from k seed points: each example goes to its nearest seed.

    `"kmeans++"` spreads the seeds out (k-means++ seeding, scikit-learn's `"k-means++"`);
    `"random"` takes k distinct examples uniformly at random.

    Shapes:
        x: (N, D) -> returns (N, k) one-hot rows
    """
    if method == "kmeans++":
        seeds = _kmeans_plusplus(x, k, gen)
    else:
        seeds = torch.randperm(len(x), generator=gen)[:k].to(x.device)
    nearest = torch.cdist(x, x[seeds]).argmin(1)
    return torch.nn.functional.one_hot(nearest, k).to(x.dtype)


class EMMixture(FittedEstimator):
    """Shared fitting logic of the EM-fitted mixtures (see the module docstring).

    Args:
        n_components: K.
        max_iter: EM iterations per initialisation.
        tol: stop when the per-example bound changes by less than this.
        n_init: initialisations; the run with the highest final bound is kept.
        init: `"kmeans++"` or `"random"` seeds for the first responsibilities.
        random_state: seed of the initialisation (None: drawn from torch's generator).
        support, dtype: of the observations and of the fitted tensors.
    """

    weights_: Tensor

    def __init__(self, n_components: int, *, max_iter: int, tol: float, n_init: int, init: str,
                 random_state: int | None, support: Support, dtype: torch.dtype) -> None:
        super().__init__(support, dtype)
        self.n_components = check_positive_int(n_components, "n_components")
        self.max_iter = check_int(max_iter, "max_iter", 1)
        self.tol = check_tol(tol)
        self.n_init = check_positive_int(n_init, "n_init")
        if init not in INIT_METHODS:
            raise ValueError(f"init must be one of {INIT_METHODS}; got {init!r}")
        self.init = init
        if random_state is not None:
            check_int(random_state, "random_state", 0)
        self.random_state = random_state
        self.register_buffer("weights_", None)

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _log_joint(self, x: Tensor) -> Tensor:
        """log pi_k + log p(x | k) for each example and component, shape (N, K)."""

    @abstractmethod
    def _m_step(self, x: Tensor, resp: Tensor) -> None:
        """Set the parameters that maximise the bound for responsibilities `resp` (N, K)."""

    @abstractmethod
    def _sample_components(self, components: Tensor,
                           generator: torch.Generator | None = None) -> Tensor:
        """One draw x ~ p(x | k) for each entry k of `components` (n,), shape (n, D)."""

    def _initialize(self, x: Tensor, gen: torch.Generator) -> None:
        """Parameters from the M step on initial hard responsibilities."""
        self._m_step(x, initial_responsibilities(x, self.n_components, self.init, gen))

    def _lower_bound(self, x: Tensor, resp: Tensor, log_norm: Tensor) -> float:
        """The bound recorded for an iteration; by default the mean log-likelihood of the
        parameters the E step used (scikit-learn's `lower_bounds_`)."""
        return float(log_norm.mean())

    # ------------------------------------------------------------------ fitting

    def _fitted_state(self) -> dict[str, Tensor]:
        return {name: buf.clone() for name, buf in self._buffers.items() if buf is not None}

    def _em_step(self, x: Tensor) -> float:
        log_joint = self._log_joint(x)
        log_norm = torch.logsumexp(log_joint, dim=1)
        if not bool(torch.isfinite(log_norm).all()):
            raise ValueError(f"{int((~torch.isfinite(log_norm)).sum())} training example(s) have "
                             "probability 0 under every component; use a prior (alpha > 0) so no "
                             "probability is exactly 0")
        resp = torch.exp(log_joint - log_norm[:, None])  # E step: p(k | x)
        self._m_step(x, resp)
        return self._lower_bound(x, resp, log_norm)

    def fit(self, x: Tensor) -> EMMixture:
        """Fit by EM from `n_init` initialisations, keeping the one with the highest bound.

        Shapes:
            x: (N, D) with N >= n_components
        """
        x = self._fit_data(x, self.n_components, f" for n_components={self.n_components}")
        gen = generator(self.random_state)
        best: tuple[float, dict[str, Tensor], list[float], bool] | None = None
        for _ in range(self.n_init):
            self._initialize(x, gen)
            bounds, converged = run_em(lambda: self._em_step(x), max_iter=self.max_iter,
                                       tol=self.tol, name=type(self).__name__)
            if best is None or bounds[-1] > best[0]:
                best = (bounds[-1], self._fitted_state(), bounds, converged)
        _, state, self.lower_bounds_, self.converged_ = best
        for name, value in state.items():
            setattr(self, name, value)
        self.n_iter_ = len(self.lower_bounds_)
        self.lower_bound_ = self.lower_bounds_[-1]
        return self

    # ------------------------------------------------------------------ using the fit

    def _log_prob(self, x: Tensor) -> Tensor:
        return torch.logsumexp(self._log_joint(x), dim=1)

    def predict_proba(self, x: Tensor) -> Tensor:
        """Responsibilities p(k | x).

        Shapes:
            x: (B, D) -> returns (B, K), rows sum to one
        """
        return torch.softmax(self._log_joint(self.validate_input(x)), dim=1)

    def predict(self, x: Tensor) -> Tensor:
        """The most responsible component of each example, shape (B,)."""
        return self.predict_proba(x).argmax(1)

    def _ancestral(self, n: int, generator: torch.Generator | None = None
                   ) -> tuple[Tensor, Tensor]:
        self._check_fitted()
        components = categorical_draw(self.weights_.log().expand(n, -1), generator)
        return self._sample_components(components, generator), components

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        return self._ancestral(n, generator)[0]

    def sample_with_components(self, n: int, *, generator: torch.Generator | None = None
                               ) -> tuple[Tensor, Tensor]:
        """Ancestral samples with their components: k ~ pi, then x ~ p(x | k).

        Shapes:
            returns x (n, D) and k (n,)
        """
        check_positive_int(n, "n")
        with torch.no_grad():
            return self._ancestral(n, check_generator(generator))
