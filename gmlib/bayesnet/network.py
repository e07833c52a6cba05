"""Discrete Bayesian networks: a DAG plus one conditional probability table per variable.

p(x_1, ..., x_n) = prod_v p(x_v | x_pa(v)). The joint is normalised by construction (each
table is), `log_prob` sums one table entry per variable, `sample` draws parents before children
(ancestral sampling), and `query` computes exact posteriors by variable elimination, written
as one `torch.einsum` over the evidence-reduced tables (einsum sums each variable out as soon
as no later table mentions it).

References:
    Koller & Friedman, Probabilistic Graphical Models (2009), chapters 3 and 9.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from gmlib.base import DensityModel
from gmlib.dag import Parents, check_dag, d_separated, topological_order
from gmlib.discrete import _cardinalities, conditional_mle
from gmlib.draws import categorical_draw
from gmlib.validation import (
    Support,
    as_batch,
    check_event_shape,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive_int,
    check_tensor,
)

__all__ = ["DiscreteBayesNet"]

Data = Tensor | Mapping[str, Tensor]


class DiscreteBayesNet(DensityModel):
    """A Bayesian network over discrete variables with tabular conditionals.

    Before `fit` (or `set_cpt`) every table is uniform.

    Args:
        parents: `{variable: [its parents]}`; the keys, in order, are the variables and fix
            the column order of data tensors.
        cardinality: the number of values of each variable (values are 0..k-1), or one int.
        alpha: pseudo-count added to every table entry by `fit` (0: maximum likelihood).
        dtype: dtype of the tables (float64 so that exact checks hold to 1e-12).

    Shapes:
        x: (B, n_vars) with column j holding variable `variables[j]`, or a dict of (B,)
        columns; log_prob -> (B,); sample(n) -> (n, n_vars)

    Example:
        >>> net = DiscreteBayesNet({"rain": [], "wet": ["rain"]}, 2)
        >>> net.query("rain", {"wet": 1}).shape
        torch.Size([2])
    """

    def __init__(self, parents: Parents, cardinality: Mapping[str, int] | int = 2, *,
                 alpha: float = 0.0, dtype: torch.dtype = torch.float64) -> None:
        graph = check_dag(parents)
        cards = _cardinalities(graph, cardinality)
        super().__init__((len(graph),), Support.levels(max(cards.values())))
        self.parents = graph
        self.cardinality = cards
        self.variables = list(graph)
        self.alpha = check_nonnegative(alpha, "alpha")
        self._index = {v: j for j, v in enumerate(self.variables)}
        for j, v in enumerate(self.variables):
            shape = (*(cards[p] for p in graph[v]), cards[v])
            self.register_buffer(f"_log_cpt_{j}", torch.full(shape, -math.log(cards[v]),
                                                             dtype=dtype))

    @classmethod
    def random(cls, n_vars: int, *, max_parents: int = 2, max_cardinality: int = 3,
               seed: int = 0) -> DiscreteBayesNet:
        """A random network for tests and exercises: variables `x0, x1, ...` in topological
        order, each with up to `max_parents` parents among the earlier ones, 2..max_cardinality
        values, and every table row drawn uniformly from the simplex (Dirichlet(1, ..., 1))."""
        check_positive_int(n_vars, "n_vars")
        check_int(max_cardinality, "max_cardinality", 2)
        generator = torch.Generator().manual_seed(seed)
        names = [f"x{i}" for i in range(n_vars)]
        parents: dict[str, list[str]] = {}
        for i, v in enumerate(names):
            n_parents = int(torch.randint(min(i, max_parents) + 1, (), generator=generator))
            chosen = torch.randperm(i, generator=generator)[:n_parents].sort().values
            parents[v] = [names[j] for j in chosen.tolist()]
        cards = {v: int(torch.randint(2, max_cardinality + 1, (), generator=generator))
                 for v in names}
        net = cls(parents, cards)
        for v in names:  # normalised exponentials are uniform on the simplex
            draws = torch.empty(net.log_cpt(v).shape, dtype=torch.float64)
            draws.exponential_(generator=generator)
            net.set_cpt(v, draws / draws.sum(-1, keepdim=True))
        return net

    # ------------------------------------------------------------ structure

    @property
    def topological_order(self) -> list[str]:
        """The variables, parents before children (the order `sample` draws them in)."""
        return topological_order(self.parents)

    @property
    def n_parameters(self) -> int:
        """Free parameters: sum_v (k_v - 1) prod_{u in pa(v)} k_u."""
        return sum(self.log_cpt(v).numel() // self.cardinality[v] * (self.cardinality[v] - 1)
                   for v in self.variables)

    def d_separated(self, a: str | Sequence[str], b: str | Sequence[str],
                    given: Sequence[str] = ()) -> bool:
        """Whether the graph implies a ⊥ b | given (see `gmlib.dag.d_separated`)."""
        return d_separated(self.parents, a, b, given)

    # ------------------------------------------------------------ tables

    def log_cpt(self, variable: str) -> Tensor:
        """log p(variable | parents), shape (*parent cardinalities, k_variable)."""
        return getattr(self, f"_log_cpt_{self._position(variable)}")

    def cpt(self, variable: str) -> Tensor:
        """p(variable | parents), shape (*parent cardinalities, k_variable)."""
        return self.log_cpt(variable).exp()

    def set_cpt(self, variable: str, probs: Tensor | Sequence) -> DiscreteBayesNet:
        """Set p(variable | parents) from a table whose last axis sums to one."""
        table = self.log_cpt(variable)
        probs = torch.as_tensor(probs, dtype=table.dtype, device=table.device)
        if probs.shape != table.shape:
            raise ValueError(f"the table of {variable!r} (parents {list(self.parents[variable])})"
                             f" must have shape {tuple(table.shape)}; got {tuple(probs.shape)}")
        check_finite(probs, f"probs of {variable!r}")
        if bool((probs < 0).any()) or not torch.allclose(
                probs.sum(-1), torch.ones((), dtype=probs.dtype, device=probs.device),
                atol=1e-6):
            raise ValueError(f"the table of {variable!r} must be non-negative with each row "
                             f"(last axis) summing to one; row sums {probs.sum(-1).tolist()}")
        table.copy_((probs / probs.sum(-1, keepdim=True)).log())
        return self

    def _position(self, variable: str) -> int:
        if variable not in self._index:
            raise ValueError(f"unknown variable {variable!r}; the variables are "
                             f"{self.variables}")
        return self._index[variable]

    # ------------------------------------------------------------ data

    def as_tensor(self, data: Data, name: str = "x") -> Tensor:
        """Data as a (B, n_vars) tensor, checked against every variable's cardinality."""
        if isinstance(data, Mapping):
            missing = [v for v in self.variables if v not in data]
            unknown = [k for k in data if k not in self._index]
            if missing or unknown:
                raise ValueError(f"{name} must have one column per variable; missing "
                                 f"{missing}, unknown {unknown}")
            columns = [check_tensor(data[v], f"{name}[{v!r}]") for v in self.variables]
            if any(c.dim() != 1 or len(c) != len(columns[0]) for c in columns):
                raise ValueError(f"the columns of {name} must be 1-d and of equal length; got "
                                 f"shapes {[tuple(c.shape) for c in columns]}")
            data = torch.stack([c.to(self.device) for c in columns], 1)
        # the input rule (gmlib.validation.as_batch): arrays, lists, bool and ints are cast
        x = check_event_shape(as_batch(data, self.input_dtype, name), self.event_shape or (),
                              name)
        for v, column in zip(self.variables, x.unbind(1), strict=True):
            k = self.cardinality[v]
            bad = (column < 0) | (column > k - 1) | (column != column.round())
            if bool(bad.any()):
                raise ValueError(f"variable {v!r} takes values 0..{k - 1}; {name} has "
                                 f"{column[bad][0].item():g} in row {int(bad.nonzero()[0])}")
        return x

    def validate_input(self, x: Tensor, name: str = "x") -> Tensor:
        return self.as_tensor(x, name)

    def to_dict(self, x: Tensor) -> dict[str, Tensor]:
        """A (B, n_vars) tensor as `{variable: (B,) long column}`."""
        x = self.as_tensor(x)
        return {v: x[:, j].long() for j, v in enumerate(self.variables)}

    # ------------------------------------------------------------ learning and the density

    def fit(self, data: Data) -> DiscreteBayesNet:
        """Maximum-likelihood (add-`alpha` smoothed) tables by counting.

        The likelihood factorises over the tables, so each is the smoothed frequency of the
        variable's values among the samples sharing its parents' values.
        """
        x = self.as_tensor(data, "data").long()
        if len(x) == 0 and self.alpha == 0:
            raise ValueError("data holds no samples: with alpha = 0 the MLE is undefined")
        for v in self.variables:
            ps = self.parents[v]
            table = conditional_mle(
                x[:, self._index[v]], x[:, [self._index[p] for p in ps]].reshape(len(x), -1),
                self.cardinality[v], [self.cardinality[p] for p in ps], alpha=self.alpha)
            self.log_cpt(v).copy_(table.log())
        return self

    def _log_prob(self, x: Tensor) -> Tensor:
        x = x.long()
        total = torch.zeros(len(x), dtype=self.log_cpt(self.variables[0]).dtype,
                            device=x.device)
        for v in self.variables:
            index = tuple(x[:, self._index[u]] for u in (*self.parents[v], v))
            total = total + self.log_cpt(v)[index]
        return total

    def _sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        dtype = self.log_cpt(self.variables[0]).dtype
        out = torch.zeros(n, len(self.variables), dtype=torch.long, device=self.device)
        for v in self.topological_order:
            index = tuple(out[:, self._index[p]] for p in self.parents[v])
            logits = self.log_cpt(v)[index] if index else self.log_cpt(v).expand(n, -1)
            out[:, self._index[v]] = categorical_draw(logits, generator)
        return out.to(dtype)

    # ------------------------------------------------------------ inference

    def query(self, target: str | Sequence[str],
              evidence: Mapping[str, int] | None = None) -> Tensor:
        """The exact posterior p(target | evidence) by variable elimination.

        Args:
            target: a variable, or a list of variables for their joint posterior.
            evidence: observed values, `{variable: value}`.

        Returns:
            probabilities of shape (k_t,) for one target, (k_t1, k_t2, ...) for several.

        Raises:
            ValueError: for an unknown variable, a value outside its cardinality, a target that
                is also observed, or evidence of probability zero.
        """
        targets = [target] if isinstance(target, str) else list(target)
        evidence = dict(evidence or {})
        for v in [*targets, *evidence]:
            self._position(v)
        if not targets or len(set(targets)) != len(targets):
            raise ValueError(f"target must name one or more distinct variables; got {target!r}")
        if set(targets) & set(evidence):
            both = sorted(set(targets) & set(evidence))
            raise ValueError(f"a target cannot also be evidence: {both}")
        for v, value in evidence.items():
            k = self.cardinality[v]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < k:
                raise ValueError(f"evidence {v}={value!r} is outside 0..{k - 1}")
        if len(self.variables) > len(string.ascii_letters):
            raise ValueError(f"query handles at most {len(string.ascii_letters)} variables")
        letter = dict(zip(self.variables, string.ascii_letters, strict=False))
        operands: list[Tensor] = []
        subscripts: list[str] = []
        for v in self.topological_order:
            table = self.cpt(v)
            axes = [*self.parents[v], v]
            for u, value in evidence.items():  # slice observed variables out of the table
                if u in axes:
                    table = table.select(axes.index(u), value)
                    axes.remove(u)
            operands.append(table)
            subscripts.append("".join(letter[u] for u in axes))
        spec = ",".join(subscripts) + "->" + "".join(letter[t] for t in targets)
        unnormalised = torch.einsum(spec, *operands)
        total = unnormalised.sum()
        if not bool(total > 0):
            raise ValueError(f"the evidence {evidence} has probability zero under the model")
        return unnormalised / total
