"""Trained bench models stored beside their rows, so lectures can show the leaderboard's models.

`python -m gmlib.bench NAMES --write benchmarks --save-models` trains each entry, writes its
row to `benchmarks/results.json` and, for the entries of `STORED_ENTRIES`, its weights to
`benchmarks/models/NAME.pt` (a
`gmlib.train` checkpoint whose `extra` holds the row). `load_model(NAME, "benchmarks")`
rebuilds the untrained network with the entry's `build`, loads the weights and returns it with
the row: the very model the leaderboard scored, in a second instead of minutes of training.
`tests/test_bench.py` re-scores every stored model and checks it gives its row's numbers.

Only entries with a `build` (the untrained model for a track) can be stored: the others are
fitted in closed form or by EM in a second and are simply retrained.

Studies (`gmlib.bench.studies`) store the first seed's model of each arm the same way:
`python -m gmlib.bench.studies NAME --write benchmarks --save-models` writes
`benchmarks/models/STUDY/ARM.pt` (the arm's name in lower case, runs of other characters
as "-"), and `load_study_model(STUDY, ARM, "benchmarks")` returns it with that run's metrics.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gmlib.bench.core import Row, context, get_entry
from gmlib.train.checkpoint import load_checkpoint, save_checkpoint
from gmlib.utils import get_device

__all__ = ["MODELS_FOLDER", "STORED_ENTRIES", "StoredModel", "load_model", "load_study_model",
           "model_path", "save_model", "save_study_model", "stored_names", "study_model_path"]

MODELS_FOLDER = "models"
# the entries whose models lectures load (09: the GANs and the two VAEs that compete for
# the best FDD, 10: the score network, 11: the guided DDPM, 14: the WaveNet it compresses
# with, 16: the two-stage models and the pixel flow they are compared with, 17: masked
# diffusion and the rectified flow); `--save-models` stores these, keeping the repository
# small
STORED_ENTRIES = ("dcgan", "cgan", "infogan", "vae", "vae-logistic-conv", "iwae-logistic-conv",
                  "ncsn", "ddpm-guided", "wavenet", "flow-matching", "vqvae-transformer",
                  "latent-flow-matching", "masked-diffusion", "reflow")


@dataclass(frozen=True)
class StoredModel:
    """A stored model, what scored it (a bench row, with `results.json`'s keys, or a study
    run's metrics), the seed it was trained and scored with, and its training history where
    the entry kept one (the `as_dict()` of `train_gan`'s `GANHistory`, or None)."""

    model: nn.Module
    row: dict[str, Any]
    seed: int
    history: dict[str, Any] | None = None


def model_path(name: str, directory: str | os.PathLike) -> Path:
    """Where the model of entry `name` is stored under the bench folder `directory`."""
    return Path(directory) / MODELS_FOLDER / f"{name}.pt"


def save_model(name: str, model: nn.Module, row: Row, directory: str | os.PathLike,
               seed: int) -> Path:
    """Store the trained model of entry `name` with its row, seed and, where the entry's
    `train` kept one as `model.train_history`, its training history."""
    entry = get_entry(name)
    if entry.build is None:
        raise ValueError(f"bench entry {name!r} has no `build`, so its model cannot be "
                         "stored (only entries trained by gradient descent have one)")
    if row.name != name:
        raise ValueError(f"the row is for {row.name!r}, not {name!r}")
    return save_checkpoint(model_path(name, directory), model,
                           hparams={"entry": name, "track": entry.track, "seed": seed},
                           extra={"row": row.as_dict(),
                                  "history": getattr(model, "train_history", None)})


def load_model(name: str, directory: str | os.PathLike, *,
               device: str | torch.device = "cpu") -> StoredModel:
    """The stored model of entry `name`, in eval mode on `device`, and its row.

    Raises:
        ValueError: an unknown entry, one without `build`, or a file that holds another
            entry's model or weights that do not fit the entry's network (a stale file).
        FileNotFoundError: nothing stored for `name` (with the command that stores it).
    """
    entry = get_entry(name)
    if entry.build is None:
        raise ValueError(f"bench entry {name!r} has no `build`: its model is not stored; "
                         f"train it with gmlib.bench.train_entry({name!r})")
    path = model_path(name, directory)
    if not path.is_file():
        raise FileNotFoundError(f"no stored model for {name!r} at {str(path)!r}; run "
                                f"`python -m gmlib.bench {name} --write {directory} "
                                "--save-models`")
    payload = load_checkpoint(path)  # ValueError for a file that is not a gmlib checkpoint
    stored_as = payload["hparams"].get("entry")
    if stored_as != name:
        raise ValueError(f"{str(path)!r} holds the model of {stored_as!r}, not {name!r}")
    model = entry.build(context(entry.track))
    _load_weights(model, payload, path, name)
    return StoredModel(model.to(get_device(device)).eval(), payload["extra"]["row"],
                       int(payload["hparams"].get("seed", 0)), payload["extra"].get("history"))


def stored_names(directory: str | os.PathLike) -> list[str]:
    """The entries with a stored model under `directory`, sorted."""
    folder = Path(directory) / MODELS_FOLDER
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def _load_weights(model: nn.Module, payload: dict[str, Any], path: Path, what: str) -> None:
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:  # missing, unexpected or misshapen weights
        raise ValueError(f"{str(path)!r} does not fit the network of {what!r} (stored by an "
                         f"older gmlib? store it again): {err}") from err


def study_model_path(study: str, arm: str, directory: str | os.PathLike) -> Path:
    """Where the first seed's model of a study's arm is stored under `directory`."""
    slug = re.sub(r"[^a-z0-9]+", "-", arm.lower()).strip("-")
    return Path(directory) / MODELS_FOLDER / study / f"{slug}.pt"


def save_study_model(study: str, arm: str, model: nn.Module, metrics: dict[str, float],
                     directory: str | os.PathLike, seed: int) -> Path:
    """Store one run of a study: its model, metrics and seed."""
    return save_checkpoint(study_model_path(study, arm, directory), model,
                           hparams={"study": study, "arm": arm, "seed": seed},
                           extra={"metrics": metrics,
                                  "history": getattr(model, "train_history", None)})


def load_study_model(study: str, arm: str, directory: str | os.PathLike, *,
                     device: str | torch.device = "cpu") -> StoredModel:
    """The stored run of a study's arm (the first seed), in eval mode, with its metrics.

    Raises:
        ValueError: an unknown study or arm, a study that stores no models, or a file of
            another run or one that does not fit the arm's network.
        FileNotFoundError: nothing stored (with the command that stores it).
    """
    from gmlib.bench.studies import get_study

    spec = get_study(study)
    if arm not in spec.arms:
        raise ValueError(f"study {study!r} has no arm {arm!r}; its arms: {spec.arms}")
    if spec.build is None:
        raise ValueError(f"study {study!r} stores no models (it has no `build`)")
    path = study_model_path(study, arm, directory)
    if not path.is_file():
        raise FileNotFoundError(f"no stored run of {study!r}, arm {arm!r} at {str(path)!r}; "
                                f"run `python -m gmlib.bench.studies {study} --write "
                                f"{directory} --save-models`")
    payload = load_checkpoint(path)
    stored_as = (payload["hparams"].get("study"), payload["hparams"].get("arm"))
    if stored_as != (study, arm):
        raise ValueError(f"{str(path)!r} holds the run of {stored_as}, not {(study, arm)}")
    model = spec.build(arm)
    _load_weights(model, payload, path, f"{study}: {arm}")
    return StoredModel(model.to(get_device(device)).eval(), payload["extra"]["metrics"],
                       int(payload["hparams"]["seed"]), payload["extra"].get("history"))
