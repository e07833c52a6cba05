import itertools
import math

import numpy as np
import pytest
import torch

from gmlib.bayesnet import DiscreteBayesNet, sprinkler_network, student_network
from gmlib.testing import chi_square_pvalue

SPRINKLER = {"rain": [], "sprinkler": ["rain"], "wet": ["rain", "sprinkler"]}


def sprinkler() -> DiscreteBayesNet:
    net = DiscreteBayesNet(SPRINKLER, 2)
    net.set_cpt("rain", [0.8, 0.2])
    net.set_cpt("sprinkler", [[0.6, 0.4], [0.99, 0.01]])
    net.set_cpt("wet", [[[1.0, 0.0], [0.1, 0.9]], [[0.2, 0.8], [0.01, 0.99]]])
    return net


def all_states(net: DiscreteBayesNet) -> torch.Tensor:
    """Every joint configuration, one row each (brute-force enumeration)."""
    values = [range(net.cardinality[v]) for v in net.variables]
    return torch.tensor(list(itertools.product(*values)), dtype=torch.float64)


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_are_exactly_normalised(seed):
    net = DiscreteBayesNet.random(7, max_parents=3, max_cardinality=3, seed=seed)
    log_p = net.log_prob(all_states(net))
    assert abs(float(torch.logsumexp(log_p, 0).exp()) - 1.0) < 1e-9


def test_log_prob_is_the_product_of_table_entries():
    net = sprinkler()
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    expected = [math.log(0.2 * 0.99 * 0.8), math.log(0.8 * 0.4 * 0.9)]
    assert torch.allclose(net.log_prob(x), torch.tensor(expected, dtype=torch.float64))
    columns = {"wet": x[:, 2], "rain": x[:, 0], "sprinkler": x[:, 1]}
    assert torch.equal(net.log_prob(columns), net.log_prob(x))


@pytest.mark.parametrize("seed", range(3))
def test_ancestral_samples_follow_the_joint(seed):
    torch.manual_seed(seed)
    net = DiscreteBayesNet.random(5, max_parents=2, max_cardinality=3, seed=10 + seed)
    states = all_states(net)
    probs = net.log_prob(states).exp().numpy()
    samples = net.sample(40_000)
    radix = torch.tensor([math.prod(net.cardinality[u] for u in net.variables[j + 1:])
                          for j in range(len(net.variables))], dtype=torch.float64)
    counts = np.bincount((samples @ radix).long().numpy(), minlength=len(states))
    assert chi_square_pvalue(counts, probs) > 1e-3
    total_variation = 0.5 * np.abs(counts / counts.sum() - probs).sum()
    assert total_variation < 0.03


def brute_force_posterior(net, targets, evidence):
    states = all_states(net)
    p = net.log_prob(states).exp()
    keep = torch.ones(len(states), dtype=torch.bool)
    for v, value in evidence.items():
        keep &= states[:, net.variables.index(v)] == value
    shape = [net.cardinality[t] for t in targets]
    table = torch.zeros(shape, dtype=torch.float64)
    for state, prob in zip(states[keep], p[keep], strict=True):
        table[tuple(int(state[net.variables.index(t)]) for t in targets)] += prob
    return table / table.sum()


@pytest.mark.parametrize("seed", range(8))
def test_query_equals_brute_force_enumeration(seed):
    net = DiscreteBayesNet.random(6, max_parents=3, max_cardinality=3, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(6, generator=gen).tolist()
    targets = [net.variables[order[0]]] if seed % 2 else [net.variables[i] for i in order[:2]]
    observed = [net.variables[i] for i in order[2:2 + seed % 4]]
    evidence = {v: int(torch.randint(net.cardinality[v], (), generator=gen)) for v in observed}
    got = net.query(targets if len(targets) > 1 else targets[0], evidence)
    want = brute_force_posterior(net, targets, evidence)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-12)


def test_sprinkler_textbook_posteriors():
    net = sprinkler()
    p_wet = 0.8 * (0.6 * 0.0 + 0.4 * 0.9) + 0.2 * (0.99 * 0.8 + 0.01 * 0.99)
    p_rain_and_wet = 0.2 * (0.99 * 0.8 + 0.01 * 0.99)
    assert float(net.query("rain", {"wet": 1})[1]) == pytest.approx(p_rain_and_wet / p_wet)
    # explaining away: also seeing the sprinkler on makes rain less likely
    assert float(net.query("rain", {"wet": 1, "sprinkler": 1})[1]) < p_rain_and_wet / p_wet
    assert torch.allclose(net.query("rain"), torch.tensor([0.8, 0.2], dtype=torch.float64))


def test_fit_recovers_the_tables_and_is_the_mle(seed):
    truth = sprinkler()
    data = truth.sample(50_000)
    fitted = DiscreteBayesNet(SPRINKLER, 2).fit(data)
    for v in SPRINKLER:
        assert torch.allclose(fitted.cpt(v), truth.cpt(v), atol=0.02)
    # the MLE: no other network of the same graph scores the data higher, e.g. the truth
    assert fitted.log_prob(data).sum() >= truth.log_prob(data).sum()
    # counting by hand for one table entry
    rain, sprk = data[:, 0] == 1, data[:, 1] == 1
    assert float(fitted.cpt("sprinkler")[1, 1]) == pytest.approx(float(sprk[rain].double().mean()))


def test_fit_with_pseudo_counts_and_dict_data():
    data = {"rain": torch.tensor([0, 0, 1]), "sprinkler": torch.tensor([1, 0, 0]),
            "wet": torch.tensor([1, 0, 1])}
    net = DiscreteBayesNet(SPRINKLER, 2, alpha=1.0).fit(data)
    assert torch.allclose(net.cpt("rain"), torch.tensor([3 / 5, 2 / 5], dtype=torch.float64))
    assert torch.allclose(net.cpt("wet")[1, 1], torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert net.to_dict(net.sample(4))["wet"].dtype == torch.long


def test_structure_properties():
    net = DiscreteBayesNet({"c": ["a", "b"], "a": [], "b": ["a"]}, {"a": 2, "b": 3, "c": 4})
    assert net.variables == ["c", "a", "b"]
    assert net.topological_order == ["a", "b", "c"]
    assert net.n_parameters == 1 + 2 * 2 + 6 * 3
    assert net.cpt("c").shape == (2, 3, 4)
    assert net.sample(5).shape == (5, 3)
    assert net.d_separated("a", "c") is False
    assert sprinkler().d_separated("rain", "sprinkler") is False


@pytest.mark.parametrize(("call", "match"), [
    (lambda: DiscreteBayesNet({"a": ["b"], "b": ["a"]}), "cycle"),
    (lambda: DiscreteBayesNet({"a": ["q"]}), "unknown parent 'q'"),
    (lambda: DiscreteBayesNet({"a": []}, {"a": 2}, alpha=-1.0), "alpha must be"),
    (lambda: sprinkler().log_prob(torch.tensor([[0.0, 2.0, 1.0]])),
     "variable 'sprinkler' takes values 0..1; x has 2 in row 0"),
    (lambda: sprinkler().log_prob(torch.zeros(2, 4)), r"shape \(batch, 3\); got \(2, 4\)"),
    (lambda: sprinkler().log_prob({"rain": torch.zeros(2)}), "missing"),
    (lambda: sprinkler().fit(torch.tensor([[0.0, 0.0, 0.5]])), "'wet' takes values 0..1"),
    (lambda: sprinkler().fit(torch.zeros(0, 3)), "no samples"),
    (lambda: sprinkler().query("snow"), "unknown variable 'snow'"),
    (lambda: sprinkler().query("rain", {"hail": 1}), "unknown variable 'hail'"),
    (lambda: sprinkler().query("rain", {"wet": 2}), r"wet=2 is outside 0..1"),
    (lambda: sprinkler().query("rain", {"rain": 1}), "cannot also be evidence"),
    (lambda: sprinkler().query([]), "one or more distinct"),
    (lambda: sprinkler().query("sprinkler", {"rain": 0, "wet": 1, "sprinkler": 0}),
     "cannot also be evidence"),
    (lambda: sprinkler().set_cpt("rain", [0.5, 0.6]), "summing to one"),
    (lambda: sprinkler().set_cpt("rain", [1.5, -0.5]), "non-negative"),
    (lambda: sprinkler().set_cpt("wet", [0.5, 0.5]), r"must have shape \(2, 2, 2\)"),
    (lambda: DiscreteBayesNet.random(3, max_cardinality=1), "max_cardinality"),
])
def test_errors_name_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_impossible_evidence_is_refused():
    net = sprinkler().set_cpt("rain", [1.0, 0.0])  # it never rains
    with pytest.raises(ValueError, match="probability zero"):
        net.query("sprinkler", {"wet": 1, "rain": 1})


def test_runs_on_every_device(device):
    net = sprinkler().to(device)
    x = net.sample(100)
    assert x.device.type == device.type
    assert net.log_prob(x).device.type == device.type
    assert net.fit(x).query("rain", {"wet": 1}).device.type == device.type


@pytest.mark.parametrize(("target", "evidence", "value", "textbook"), [
    ("L", {}, 1, 0.502), ("L", {"I": 0}, 1, 0.389), ("L", {"I": 0, "D": 0}, 1, 0.513),
    ("I", {"G": 2}, 1, 0.079), ("I", {"L": 0}, 1, 0.14), ("I", {"G": 2, "S": 1}, 1, 0.578),
    ("D", {"G": 2}, 1, 0.629),
])
def test_student_network_reproduces_koller_and_friedman(target, evidence, value, textbook):
    """The posteriors quoted in Koller & Friedman (2009), section 3.2.1.2, to their rounding."""
    got = float(student_network().query(target, evidence)[value])
    assert got == pytest.approx(textbook, abs=0.0006)


def test_sprinkler_network_reproduces_the_classic_posteriors():
    net = sprinkler_network()
    assert float(net.query("sprinkler", {"wet": 1})[1]) == pytest.approx(0.4298, abs=1e-4)
    assert float(net.query("rain", {"wet": 1})[1]) == pytest.approx(0.7079, abs=1e-4)
    assert net.n_parameters == 1 + 2 + 2 + 4


def test_sprinkler_explaining_away_numbers_quoted_in_exercise_02_6():
    net = sprinkler_network()
    assert float(net.query("rain", {"wet": 1, "sprinkler": 1})[1]) == pytest.approx(
        0.320, abs=5e-4)
    assert net.d_separated("sprinkler", "rain", ["cloudy"])
    assert not net.d_separated("sprinkler", "rain", ["cloudy", "wet"])
    assert not net.d_separated("sprinkler", "rain")
