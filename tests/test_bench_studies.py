"""The multi-seed studies: registry, runs, storage, the committed results and their drift."""

from pathlib import Path

import pytest

from gmlib.bench import studies as registry
from gmlib.bench.studies import (
    Study,
    arm_summary,
    get_study,
    load_studies,
    main,
    register_study,
    run_study,
    studies,
    write_studies,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toy_study():
    """A registered study whose runs return a metric that depends on arm and seed."""
    study = register_study(Study(
        name="toy", lecture="00", question="does the arm matter?", arms=("a", "b"),
        run=lambda arm, seed: {"score": (2.0 if arm == "b" else 1.0) + seed / 10}))
    yield study
    registry._STUDIES.pop("toy")


def test_register_validates_studies(toy_study):
    with pytest.raises(ValueError, match="a study named 'toy' is already registered"):
        register_study(toy_study)
    with pytest.raises(ValueError, match="at least two distinct arms"):
        register_study(Study("one-arm", "00", "?", ("a",), lambda arm, seed: {}))
    with pytest.raises(ValueError, match="at least two distinct seeds"):
        register_study(Study("one-seed", "00", "?", ("a", "b"), lambda arm, seed: {},
                             seeds=(0,)))
    with pytest.raises(ValueError, match="unknown study 'nope'; known: .*vae-warmup"):
        get_study("nope")


def test_a_study_gives_run_or_train_and_score():
    with pytest.raises(ValueError, match="either `run` or both `train` and `score`"):
        register_study(Study("neither", "00", "?", ("a", "b")))
    with pytest.raises(ValueError, match="either `run` or both `train` and `score`"):
        register_study(Study("half", "00", "?", ("a", "b"), train=lambda arm, seed: None))
    with pytest.raises(ValueError, match="has a `build` but no `train`"):
        register_study(Study("built", "00", "?", ("a", "b"), lambda arm, seed: {},
                             build=lambda arm: None))


def test_a_trained_study_stores_its_first_seeds_models(tmp_path):
    """train/score studies: scoring starts from the seed, the first seed's model is stored,
    reloads into `build`'s network and re-scores to the stored metrics."""
    import torch
    from torch import nn

    from gmlib.bench.stored import load_study_model, save_study_model, study_model_path

    def train(arm, seed):
        layer = nn.Linear(2, 1)
        with torch.no_grad():
            layer.bias.fill_(seed + (arm == "b"))
        return layer

    def score(arm, model):  # a random draw: reproducible only because it is seeded
        return {"value": float(model.bias.detach()) + float(torch.rand(()))}

    register_study(Study("trained", "00", "?", ("a", "b c"), train=train, score=score,
                         build=lambda arm: nn.Linear(2, 1)))
    try:
        result = run_study("trained", models=tmp_path)
        first = result["arms"]["b c"]["value"][0]
        assert study_model_path("trained", "b c", tmp_path).name == "b-c.pt"
        stored = load_study_model("trained", "b c", tmp_path)
        assert stored.seed == 0 and stored.row == {"value": first}
        torch.manual_seed(0)
        assert score("b c", stored.model)["value"] == pytest.approx(first)
        assert not study_model_path("trained", "a", tmp_path).with_name("a-1.pt").exists()
        with pytest.raises(ValueError, match="has no arm 'c'"):
            load_study_model("trained", "c", tmp_path)
        save_study_model("trained", "a", nn.Linear(2, 1), {}, tmp_path / "x", 0)
        study_model_path("trained", "a", tmp_path / "x").rename(
            study_model_path("trained", "b c", tmp_path))
        with pytest.raises(ValueError, match="holds the run of \\('trained', 'a'\\)"):
            load_study_model("trained", "b c", tmp_path)
        with pytest.raises(FileNotFoundError, match="--save-models"):
            load_study_model("trained", "a", tmp_path / "empty")
    finally:
        registry._STUDIES.pop("trained")
    with pytest.raises(ValueError, match="stores no models"):
        load_study_model("vae-warmup", "warm-up", tmp_path)


def test_run_study_and_summary(toy_study):
    result = run_study("toy")
    assert result["seeds"] == [0, 1, 2]
    assert result["arms"] == {"a": {"score": [1.0, 1.1, 1.2]}, "b": {"score": [2.0, 2.1, 2.2]}}
    mean, sd = arm_summary(result, "score")["b"]
    assert mean == pytest.approx(2.1) and sd == pytest.approx(0.1)
    with pytest.raises(KeyError, match="arm 'a' has no metric 'loss'; it has \\['score'\\]"):
        arm_summary(result, "loss")


def test_runs_of_an_arm_must_report_the_same_metrics():
    register_study(Study("ragged", "00", "?", ("a", "b"),
                         lambda arm, seed: {"x": 1.0} if seed else {"y": 1.0}))
    try:
        with pytest.raises(ValueError, match="every run must return the same metrics"):
            run_study("ragged")
    finally:
        registry._STUDIES.pop("ragged")


def test_write_and_load_merge(tmp_path, toy_study):
    with pytest.raises(FileNotFoundError, match="python -m gmlib.bench.studies --write"):
        load_studies(tmp_path)
    environment = {"date": "2026-01-01"}
    write_studies({"toy": run_study("toy")}, tmp_path, environment)
    write_studies({"other": {"arms": {}}}, tmp_path, environment)
    stored = load_studies(tmp_path)
    assert set(stored) == {"toy", "other"} and stored["toy"]["measured"] == environment


def test_command_line(capsys, toy_study):
    assert main(["--list"]) == 0
    assert "vae-warmup" in capsys.readouterr().out
    assert main(["no-such-study"]) == 2
    assert "unknown study 'no-such-study'" in capsys.readouterr().err


def test_committed_studies_are_complete():
    """benchmarks/studies.json holds every registered study, every arm, every seed."""
    stored = load_studies(ROOT / "benchmarks")
    for name, study in studies().items():
        assert name in stored, f"run `python -m gmlib.bench.studies {name} --write`"
        result = stored[name]
        assert result["seeds"] == list(study.seeds) and set(result["arms"]) == set(study.arms)
        metrics = None
        for arm, values in result["arms"].items():
            metrics = metrics or set(values)
            assert set(values) == metrics, f"{name}: arm {arm} reports other metrics"
            assert all(len(v) == len(study.seeds) for v in values.values())


@pytest.mark.slow
def test_a_stored_study_run_reproduces():
    """One run of the first study, re-trained: the stored numbers are not stale."""
    study = get_study("vae-warmup")
    stored = load_studies(ROOT / "benchmarks")["vae-warmup"]
    arm, seed = study.arms[0], study.seeds[0]
    fresh, _ = study.run_once(arm, seed)
    for metric, value in fresh.items():
        assert stored["arms"][arm][metric][0] == pytest.approx(value, rel=1e-5, abs=1e-6), metric
