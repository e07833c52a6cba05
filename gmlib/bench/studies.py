"""Studies: controlled comparisons, several seeds each, measured outside the lectures.

A lecture's comparison ("does KL warm-up keep more latent units alive?") changes one factor
and needs several training seeds to say anything; that costs more than the 90 seconds a
lecture may take. A `Study` names the factor's settings (its *arms*), trains one model per arm
and seed with everything else fixed, and returns a few metrics per run.
`python -m gmlib.bench.studies --write` runs every study and stores the per-seed numbers in
`benchmarks/studies.json`; a lecture loads them with `load_studies`, shows every seed with
its mean and spread, and asserts on them. Like the leaderboard, nothing is typed in, and a
test re-runs one run of a study to catch drift.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from gmlib.utils import seed_everything

__all__ = ["STUDIES_FILE", "Study", "arm_summary", "get_study", "load_studies", "main",
           "register_study", "run_study", "studies", "write_studies"]

STUDIES_FILE = "studies.json"
# modules whose import registers studies
STUDY_MODULES = ("gmlib.bench.vae_studies", "gmlib.bench.flow_studies",
                 "gmlib.bench.gan_studies", "gmlib.bench.latent_studies",
                 "gmlib.bench.sampler_studies")

_STUDIES: dict[str, Study] = {}


@dataclass(frozen=True)
class Study:
    """A comparison of `arms` (settings of one factor), each trained with every seed.

    A study gives either `run`, or `train` and `score` (and then may give `build`, so the
    first seed's model of every arm can be stored and shown by its lecture without training:
    `gmlib.bench.stored.load_study_model`).

    Args:
        name: a short key, e.g. "vae-warmup".
        lecture: the lecture that shows it, e.g. "07".
        question: what it measures, in one sentence.
        arms: the settings compared, e.g. ("warm-up", "no warm-up").
        run: run(arm, seed) -> {metric: value}: trains one model and measures it.
        seeds: the training seeds.
        train: train(arm, seed) -> the trained model of one run.
        score: score(arm, model) -> {metric: value}; it is called right after
            `seed_everything(seed)`, so a stored model re-scores to its stored numbers.
        build: build(arm) -> the untrained model of an arm (the network a stored run loads
            its weights into).
    """

    name: str
    lecture: str
    question: str
    arms: tuple[str, ...]
    run: Callable[[str, int], dict[str, float]] | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    train: Callable[[str, int], nn.Module] | None = None
    score: Callable[[str, nn.Module], dict[str, float]] | None = None
    build: Callable[[str], nn.Module] | None = None

    def run_once(self, arm: str, seed: int) -> tuple[dict[str, float], nn.Module | None]:
        """One run's metrics, and its model when the study trains through `train`."""
        seed_everything(seed)
        if self.train is None or self.score is None:
            assert self.run is not None  # register_study checks that one way is given
            return {key: float(value) for key, value in self.run(arm, seed).items()}, None
        model = self.train(arm, seed)
        seed_everything(seed)
        metrics = {key: float(value) for key, value in self.score(arm, model).items()}
        return metrics, model


def register_study(study: Study) -> Study:
    """Add a study to the registry; names are unique, arms distinct, at least two seeds."""
    if study.name in _STUDIES:
        raise ValueError(f"a study named {study.name!r} is already registered")
    if len(study.arms) < 2 or len(set(study.arms)) != len(study.arms):
        raise ValueError(f"a study compares at least two distinct arms; got {study.arms}")
    if (study.run is None) == (study.train is None or study.score is None):
        raise ValueError(f"study {study.name!r} must give either `run` or both `train` and "
                         "`score`")
    if study.build is not None and study.train is None:
        raise ValueError(f"study {study.name!r} has a `build` but no `train`")
    if len(study.seeds) < 2 or len(set(study.seeds)) != len(study.seeds):
        raise ValueError(f"a study needs at least two distinct seeds; got {study.seeds}")
    _STUDIES[study.name] = study
    return study


def studies() -> dict[str, Study]:
    """Every registered study, by name (importing the modules that define them)."""
    for module in STUDY_MODULES:
        importlib.import_module(module)
    return dict(_STUDIES)


def get_study(name: str) -> Study:
    """The study called `name`, or ValueError listing the known ones."""
    known = studies()
    if name not in known:
        raise ValueError(f"unknown study {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def run_study(name: str, *, progress: Callable[[str], None] | None = None,
              models: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run every arm with every seed; returns {"lecture", "question", "seeds", "arms":
    {arm: {metric: [one value per seed]}}}. With `models` (a bench folder), the first seed's
    model of every arm of a study with a `build` is stored there (`gmlib.bench.stored`)."""
    study = get_study(name)
    arms: dict[str, dict[str, list[float]]] = {}
    for arm in study.arms:
        runs = []
        for seed in study.seeds:
            if progress is not None:
                progress(f"{name}: {arm}, seed {seed}")
            metrics, model = study.run_once(arm, seed)
            runs.append(metrics)
            if models is not None and study.build is not None and seed == study.seeds[0]:
                from gmlib.bench.stored import save_study_model

                save_study_model(name, arm, model, metrics, models, seed)
        metrics = sorted(runs[0])
        if any(sorted(r) != metrics for r in runs):
            raise ValueError(f"study {name!r}, arm {arm!r}: every run must return the same "
                             f"metrics; got {[sorted(r) for r in runs]}")
        arms[arm] = {key: [r[key] for r in runs] for key in metrics}
    return {"lecture": study.lecture, "question": study.question,
            "seeds": list(study.seeds), "arms": arms}


def arm_summary(result: dict[str, Any], metric: str) -> dict[str, tuple[float, float]]:
    """{arm: (mean, sample standard deviation)} of one metric over the seeds."""
    summary = {}
    for arm, metrics in result["arms"].items():
        if metric not in metrics:
            raise KeyError(f"arm {arm!r} has no metric {metric!r}; it has {sorted(metrics)}")
        values = metrics[metric]
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        summary[arm] = (mean, sd)
    return summary


def write_studies(results: dict[str, dict[str, Any]], directory: str | os.PathLike,
                  environment: dict[str, Any]) -> Path:
    """Merge `results` ({study name: run_study(...)}) into `directory/studies.json`."""
    path = Path(directory) / STUDIES_FILE
    stored = load_studies(directory) if path.is_file() else {}
    for name, result in results.items():
        stored[name] = {**result, "measured": environment}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(stored.items())), indent=2) + "\n", encoding="utf-8")
    return path


def load_studies(directory: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read `directory/studies.json`: {study name: result with its "measured" environment}."""
    path = Path(directory) / STUDIES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no study results at {str(path)!r}; run "
                                f"`python -m gmlib.bench.studies --write {directory}`")
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """`python -m gmlib.bench.studies [NAME ...] [--list] [--write DIR [--save-models]]`."""
    from gmlib.bench.core import environment

    # run as a script this file is `__main__`, a second copy of the module: use the
    # imported one, whose registry the study modules fill
    registry = importlib.import_module("gmlib.bench.studies")
    studies, get_study, run_study, write_studies = (
        registry.studies, registry.get_study, registry.run_study, registry.write_studies)

    parser = argparse.ArgumentParser(prog="python -m gmlib.bench.studies",
                                     description="Run the lectures' multi-seed studies.")
    parser.add_argument("names", nargs="*", help="studies to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the studies and exit")
    parser.add_argument("--write", metavar="DIR", nargs="?", const="benchmarks",
                        help="merge the results into DIR/studies.json (default benchmarks)")
    parser.add_argument("--save-models", action="store_true",
                        help="with --write: store the first seed's model of every arm of "
                             "the studies that can rebuild it, under DIR/models/STUDY/")
    args = parser.parse_args(argv)
    if args.save_models and not args.write:
        parser.error("--save-models stores models beside the results: give --write DIR")
    if args.list:
        for name, study in studies().items():
            print(f"{name:24s} lecture {study.lecture}  {', '.join(study.arms)}: "
                  f"{study.question}")
        return 0
    try:
        names = args.names or list(studies())
        for name in names:
            get_study(name)  # fail on a typo before anything trains
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    models = args.write if args.save_models else None
    results = {name: run_study(name, progress=lambda text: print(text, file=sys.stderr),
                               models=models)
               for name in names}
    print(json.dumps(results, indent=2))
    if args.write:
        path = write_studies(results, args.write, environment("cpu"))
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
