"""Directed acyclic graphs given as parent lists: checks, topological order, d-separation.

A Bayesian network's graph is a mapping `{variable: [its parents]}`. These helpers check it
(every parent is a variable, no cycles), order it so that parents come before children (the
order of ancestral sampling), and read off the conditional independences it implies
(d-separation, Koller & Friedman 2009, section 3.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["ancestors", "check_dag", "d_separated", "topological_order"]

Parents = Mapping[str, Sequence[str]]


def check_dag(parents: Parents) -> dict[str, tuple[str, ...]]:
    """Validate a graph and return it as `{variable: tuple of parents}`.

    Raises:
        TypeError: if `parents` is not a mapping from names to sequences of names.
        ValueError: naming an unknown parent, a repeated parent, a self-loop or a cycle.
    """
    if not isinstance(parents, Mapping):
        raise TypeError(f"parents must be a dict {{variable: [parents]}}; got "
                        f"{type(parents).__name__}")
    if not parents:
        raise ValueError("parents must name at least one variable")
    graph: dict[str, tuple[str, ...]] = {}
    for child, its_parents in parents.items():
        if not isinstance(child, str):
            raise TypeError(f"variable names must be strings; got {child!r}")
        if isinstance(its_parents, str) or not isinstance(its_parents, Iterable):
            raise TypeError(f"the parents of {child!r} must be a list of names; got "
                            f"{its_parents!r}")
        its_parents = tuple(its_parents)
        for parent in its_parents:
            if parent not in parents:
                raise ValueError(f"unknown parent {parent!r} of {child!r}: every parent must "
                                 f"also be a key of parents (variables: {list(parents)})")
            if parent == child:
                raise ValueError(f"variable {child!r} cannot be its own parent")
        if len(set(its_parents)) != len(its_parents):
            raise ValueError(f"the parents of {child!r} repeat a name: {list(its_parents)}")
        graph[child] = its_parents
    topological_order(graph)  # raises on a cycle
    return graph


def topological_order(parents: Parents) -> list[str]:
    """Variables ordered so that every parent precedes its children (Kahn's algorithm).

    Ties keep the order of `parents`, so a graph listed parents-first keeps its order.

    Raises:
        ValueError: if the graph has a cycle, naming the variables on it.
    """
    remaining = {child: set(ps) for child, ps in parents.items()}
    order: list[str] = []
    while remaining:
        ready = [v for v, ps in remaining.items() if not ps]
        if not ready:
            raise ValueError(f"the graph has a cycle through {_find_cycle(remaining)}; a "
                             "Bayesian network must be acyclic")
        for v in ready:
            order.append(v)
            del remaining[v]
        for ps in remaining.values():
            ps.difference_update(ready)
    return order


def _find_cycle(remaining: Mapping[str, set[str]]) -> str:
    """One cycle among variables that all still have parents, as 'a -> b -> a'."""
    path: list[str] = []
    node = next(iter(remaining))
    while node not in path:
        path.append(node)
        node = next(iter(sorted(remaining[node])))
    cycle = [*path[path.index(node):], node]
    return " -> ".join(reversed(cycle))  # parent -> child direction


def ancestors(parents: Parents, nodes: Iterable[str]) -> set[str]:
    """The given nodes together with all their ancestors."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node not in found:
            found.add(node)
            stack.extend(parents[node])
    return found


def d_separated(parents: Parents, a: str | Iterable[str], b: str | Iterable[str],
                given: Iterable[str] = ()) -> bool:
    """Whether the sets `a` and `b` are d-separated by `given` in the graph.

    If they are, every distribution that factorises over the graph has a ⊥ b | given. Uses the
    moralised ancestral graph (Lauritzen et al. 1990): keep only a, b, given and their
    ancestors; marry the parents of each node; drop directions; delete `given`; then a and b
    are d-separated exactly when no path joins them.

    References:
        Koller & Friedman, Probabilistic Graphical Models (2009), theorem 4.9.
    """
    graph = check_dag(parents)
    a_set, b_set, given_set = (
        {s} if isinstance(s, str) else set(s) for s in (a, b, given))
    for name in a_set | b_set | given_set:
        if name not in graph:
            raise ValueError(f"unknown variable {name!r}; the variables are {list(graph)}")
    if (a_set & b_set) or ((a_set | b_set) & given_set):
        raise ValueError("a, b and given must be disjoint sets of variables")
    keep = ancestors(graph, a_set | b_set | given_set)
    neighbours: dict[str, set[str]] = {v: set() for v in keep}
    for child in keep:
        ps = graph[child]
        for p in ps:  # child - parent edges, undirected
            neighbours[child].add(p)
            neighbours[p].add(child)
        for i, p in enumerate(ps):  # moralise: marry co-parents
            for q in ps[i + 1:]:
                neighbours[p].add(q)
                neighbours[q].add(p)
    seen = set(a_set)
    stack = list(a_set)
    while stack:
        node = stack.pop()
        for nxt in neighbours[node] - given_set - seen:
            if nxt in b_set:
                return False
            seen.add(nxt)
            stack.append(nxt)
    return True
