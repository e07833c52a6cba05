import pytest

from gmlib.dag import ancestors, check_dag, d_separated, topological_order

STUDENT = {"D": [], "I": [], "G": ["D", "I"], "S": ["I"], "L": ["G"]}


def test_topological_order_puts_parents_first_and_keeps_ties_in_order():
    order = topological_order({"c": ["a", "b"], "a": [], "b": ["a"]})
    assert order == ["a", "b", "c"]
    assert topological_order(STUDENT) == ["D", "I", "G", "S", "L"]


@pytest.mark.parametrize(("graph", "match"), [
    ({"a": ["b"], "b": ["a"]}, r"cycle through (a -> b -> a|b -> a -> b)"),
    ({"a": ["c"], "b": ["a"], "c": ["b"]}, "cycle through"),
    ({"a": ["z"]}, "unknown parent 'z' of 'a'"),
    ({"a": ["a"]}, "cannot be its own parent"),
    ({"a": [], "b": ["a", "a"]}, "repeat a name"),
    ({}, "at least one variable"),
])
def test_invalid_graphs_are_named(graph, match):
    with pytest.raises(ValueError, match=match):
        check_dag(graph)


@pytest.mark.parametrize(("graph", "match"), [
    ([("a", [])], "must be a dict"),
    ({"a": "b"}, "must be a list of names"),
    ({1: []}, "variable names must be strings"),
])
def test_wrong_types_are_named(graph, match):
    with pytest.raises(TypeError, match=match):
        check_dag(graph)


def test_ancestors_include_the_nodes_themselves():
    assert ancestors(STUDENT, ["L"]) == {"L", "G", "D", "I"}
    assert ancestors(STUDENT, ["S"]) == {"S", "I"}


@pytest.mark.parametrize(("a", "b", "given", "separated"), [
    ("D", "I", [], True),        # two causes are independent...
    ("D", "I", ["G"], False),    # ...until their common effect is observed (explaining away)
    ("D", "I", ["L"], False),    # ...or a descendant of it
    ("G", "S", [], False),       # common cause I
    ("G", "S", ["I"], True),     # fork blocked by observing the cause
    ("D", "L", [], False),       # chain D -> G -> L
    ("D", "L", ["G"], True),     # chain blocked
    ("L", "S", ["G"], True),
    ("L", "S", ["D"], False),
    (["D", "S"], "L", ["G"], True),
])
def test_d_separation_on_the_student_network(a, b, given, separated):
    assert d_separated(STUDENT, a, b, given) is separated


def test_d_separation_refuses_unknown_or_overlapping_variables():
    with pytest.raises(ValueError, match="unknown variable 'Q'"):
        d_separated(STUDENT, "Q", "D")
    with pytest.raises(ValueError, match="disjoint"):
        d_separated(STUDENT, "D", "I", ["D"])
