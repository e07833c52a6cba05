import json
import math
from pathlib import Path

import pytest

from gmlib.bench import (
    FAMILIES,
    TRACKS,
    BenchEntry,
    entries,
    get_entry,
    load_results,
    markdown_table,
    register,
    run,
    run_entry,
    write_results,
)
from gmlib.bench.__main__ import main
from gmlib.bench.core import environment

ROOT = Path(__file__).resolve().parents[1]
JSON_KEYS = {"name", "family", "track", "params", "train_seconds", "test_nll", "bits_per_dim",
             "fdd", "notes", "test_neg_elbo", "extra"}


def test_registry_holds_the_baselines_with_valid_families():
    registered = entries()
    assert {"uniform", "independent-categorical", "independent-bernoulli"} <= set(registered)
    for entry in registered.values():
        assert entry.family in FAMILIES and entry.track in TRACKS


@pytest.mark.slow
def test_baseline_rows():
    rows = {row.name: row for row in run(["uniform", "independent-categorical",
                                          "independent-bernoulli"])}
    assert rows["uniform"].test_nll == pytest.approx(64 * math.log(17))
    assert rows["uniform"].params == 0
    assert rows["uniform"].bits_per_dim == pytest.approx(math.log2(17))
    assert rows["independent-categorical"].test_nll == pytest.approx(106.4, abs=0.05)
    assert rows["independent-categorical"].params == 64 * 16
    assert rows["independent-bernoulli"].track == "binary"
    assert 0 < rows["independent-bernoulli"].test_nll < 64 * math.log(2)


@pytest.mark.slow
def test_json_output_has_the_documented_keys(capsys):
    assert main(["--json", "uniform"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and set(rows[0]) == JSON_KEYS
    assert rows[0]["test_neg_elbo"] is None  # an exact likelihood has no separate bound
    assert rows[0]["fdd"] > 400  # uniform noise images are far from every digit


def test_list_and_markdown(capsys):
    assert main(["--list"]) == 0
    assert "independent-categorical" in capsys.readouterr().out
    row = run_entry("uniform")
    table = markdown_table([row])
    assert table.startswith("| Model | Family |") and "`uniform`" in table
    row.notes = "q(u | x) noise"  # a "|" in the notes must not split the cell
    assert "q(u \\| x) noise |" in markdown_table([row])


def test_unknown_entry_is_reported(capsys):
    assert main(["no-such-model"]) == 2
    assert "unknown bench entry 'no-such-model'; known entries: uniform" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown bench entry"):
        get_entry("nope")


def test_register_validates_entries():
    def train(ctx):
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="family must be one of"):
        register(BenchEntry("x", "transformer", "binary", "", train))
    with pytest.raises(ValueError, match="track must be one of"):
        register(BenchEntry("x", "baseline", "color", "", train))
    with pytest.raises(ValueError, match="already registered"):
        register(BenchEntry("uniform", "baseline", "binary", "", train))


def test_write_results_merges_rows(tmp_path):
    env = environment("cpu")
    write_results([run_entry("uniform")], tmp_path, env)
    write_results([run_entry("independent-bernoulli")], tmp_path, env)
    stored = load_results(tmp_path)["rows"]
    assert [r["name"] for r in stored] == ["uniform", "independent-bernoulli"]
    assert "Do not edit by hand" in (tmp_path / "leaderboard.md").read_text()
    with pytest.raises(FileNotFoundError, match="python -m gmlib.bench --write"):
        load_results(tmp_path / "empty")


@pytest.mark.slow
def test_committed_leaderboard_is_complete_and_reproducible():
    """benchmarks/ is written by `python -m gmlib.bench --write`: every entry has a row, and the
    fast entries re-run to the stored numbers, so no number in the book is typed in or stale."""
    stored = {r["name"]: r for r in load_results(ROOT / "benchmarks")["rows"]}
    assert set(stored) == set(entries()), "re-run `python -m gmlib.bench --write`"
    for name, entry in entries().items():
        assert set(stored[name]) == JSON_KEYS | {"measured"}
        if entry.fast:
            fresh = run_entry(name)
            assert stored[name]["test_nll"] == pytest.approx(fresh.test_nll, rel=1e-6)
            assert stored[name]["params"] == fresh.params
    table = (ROOT / "benchmarks" / "leaderboard.md").read_text()
    assert table == markdown_table(list(stored.values())) + "\n" + table.split("\n\n")[-1]
