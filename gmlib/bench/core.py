"""The benchmark harness: every model of the course on the same digits protocol.

An entry says how to build and train one model on the training split; the harness times the
training, evaluates the test log-likelihood with the entry's own estimator (exact `log_prob`
by default, an importance-weighted bound for latent-variable models), and returns one `Row`.
The book's leaderboard is written from these rows, never typed in.
"""

from __future__ import annotations

import importlib
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import torch
from torch import Tensor, nn

from gmlib.data import digits, ring_of_gaussians
from gmlib.metrics import bits_per_dim, dataset_log_likelihood
from gmlib.utils import count_parameters, get_device, seed_everything

__all__ = ["FAMILIES", "IWAE_K", "TRACKS", "BenchContext", "BenchEntry", "Row", "entries",
           "get_entry", "iwae_score", "mean_elbo", "register", "run", "run_entry", "train_entry"]

FAMILIES = ("baseline", "bayesnet", "mixture", "linear", "autoregressive", "vae", "flow", "gan",
            "ebm", "diffusion")
# the digits protocol in two encodings, and the 2-D ring of 8 Gaussians for mode coverage
TRACKS = ("17-level", "binary", "ring-of-8")
N_DIMS = 64
# Modules whose import registers entries; each model issue adds its own.
ENTRY_MODULES = ("gmlib.bench.baselines", "gmlib.bench.bayesnets", "gmlib.bench.latent",
                 "gmlib.bench.autoregressive", "gmlib.bench.vae", "gmlib.bench.flows",
                 "gmlib.bench.gans", "gmlib.bench.diffusion",
                 "gmlib.bench.ebm")


# importance samples of the bound that scores a model with only a bound (VAEs, dequantised flows)
IWAE_K = 1000


def iwae_score(model: nn.Module, x: Tensor) -> Tensor:
    """The `score` of a model with a bound: its importance-weighted bound with IWAE_K samples."""
    return model.iwae_bound(x, IWAE_K)


def mean_elbo(model: nn.Module, x: Tensor) -> Tensor:
    """The `elbo` of such a model: the mean of 10 one-sample ELBOs (the same expectation,
    less noise)."""
    return torch.stack([model.elbo(x) for _ in range(10)]).mean(0)


@dataclass(frozen=True)
class BenchContext:
    """What an entry gets: the data of its track, the device and the seed."""

    train: Tensor
    val: Tensor
    test: Tensor
    device: torch.device
    seed: int


@dataclass(frozen=True)
class BenchEntry:
    """One leaderboard line: how to train a model, and how to score the test set.

    Attributes:
        train: `ctx -> model`, trained on `ctx.train` (and `ctx.val` for early stopping).
        score: `(model, x) -> (B,)` log-likelihoods or bounds in nats; None means
            `model.log_prob`; for models with no likelihood set `has_likelihood=False`.
        elbo: `(model, x) -> (B,)` evidence lower bounds, for latent-variable models whose
            `score` is a tighter bound; the row then reports both.
        quality: `(model, ctx) -> {metric: value}` sample metrics (see `gmlib.bench.quality`);
            an "fdd" key fills the row's FDD column, the others its `extra` metrics.
        fast: trains in a few seconds, so the tests re-run it to check the stored results.
    """

    name: str
    family: str
    track: str
    description: str
    train: Callable[[BenchContext], nn.Module]
    score: Callable[[nn.Module, Tensor], Tensor] | None = None
    has_likelihood: bool = True
    elbo: Callable[[nn.Module, Tensor], Tensor] | None = None
    quality: Callable[[nn.Module, BenchContext], dict[str, float]] | None = None
    fast: bool = False


@dataclass
class Row:
    """One result; the keys are the JSON schema of `python -m gmlib.bench --json`."""

    name: str
    family: str
    track: str
    params: int
    train_seconds: float
    test_nll: float | None
    bits_per_dim: float | None
    fdd: float | None = None
    notes: str = ""
    test_neg_elbo: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_ENTRIES: dict[str, BenchEntry] = {}
_LOADED = False


def register(entry: BenchEntry) -> BenchEntry:
    """Add an entry to the registry (names are unique)."""
    if entry.family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {entry.family!r}")
    if entry.track not in TRACKS:
        raise ValueError(f"track must be one of {TRACKS}; got {entry.track!r}")
    if entry.name in _ENTRIES:
        raise ValueError(f"a bench entry named {entry.name!r} is already registered")
    _ENTRIES[entry.name] = entry
    return entry


def entries() -> dict[str, BenchEntry]:
    """All registered entries, by name, in registration order."""
    global _LOADED
    if not _LOADED:
        for module in ENTRY_MODULES:
            importlib.import_module(module)
        _LOADED = True
    return dict(_ENTRIES)


def get_entry(name: str) -> BenchEntry:
    """The entry called `name`; ValueError listing the known names otherwise."""
    known = entries()
    if name not in known:
        raise ValueError(f"unknown bench entry {name!r}; known entries: {', '.join(known)}")
    return known[name]


RING_SIZES = {"train": 2000, "val": 500, "test": 5000}


def context(track: str, *, device: str | torch.device = "cpu", seed: int = 0) -> BenchContext:
    """The data of a track: the digits as 17-level grey values 0..16 or binarised pixels, or
    samples of the ring of 8 Gaussians (radius 2, sd 0.05; fixed seeds 0, 1, 2)."""
    if track not in TRACKS:
        raise ValueError(f"track must be one of {TRACKS}; got {track!r}")
    if track == "ring-of-8":
        ring = [ring_of_gaussians(RING_SIZES[s], seed=i) for i, s in enumerate(RING_SIZES)]
        return BenchContext(*ring, get_device(device), seed)
    binary = track == "binary"
    split = {s: digits(s, binarize=binary) for s in ("train", "val", "test")}
    return BenchContext(split["train"], split["val"], split["test"], get_device(device), seed)


def _n_parameters(model: nn.Module) -> int:
    declared = getattr(model, "n_parameters", None)
    return int(declared) if declared is not None else count_parameters(model)


def _test_nll(name: str, log_lik: Callable[[Tensor], Tensor], ctx: BenchContext,
              seed: int) -> float:
    """Mean of -log_lik over the test split (a stochastic bound is seeded, so reproducible)."""
    seed_everything(seed)
    with torch.no_grad():
        values = dataset_log_likelihood(log_lik, ctx.test.to(ctx.device))
    nll = float(-values.double().mean())
    if not math.isfinite(nll):
        raise ValueError(f"bench entry {name!r} gave a non-finite test NLL ({nll})")
    return nll


def train_entry(name: str, *, device: str | torch.device = "cpu",
                seed: int = 0) -> tuple[Row, nn.Module]:
    """Train and evaluate one entry on the digits test split; return its row and the model.

    Lectures use the model (samples, timings) and quote the row, so the book shows the very
    numbers the benchmark measures.
    """
    entry = get_entry(name)
    ctx = context(entry.track, device=device, seed=seed)
    seed_everything(seed)
    start = time.perf_counter()
    model = entry.train(ctx)
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)
    seconds = time.perf_counter() - start
    test_nll = bpd = None
    if entry.has_likelihood:
        score = entry.score
        fn = model.log_prob if score is None else (lambda x: score(model, x))
        test_nll = _test_nll(name, fn, ctx, seed)
        bpd = bits_per_dim(test_nll, N_DIMS)
    neg_elbo = None
    if entry.elbo is not None:
        elbo = entry.elbo
        neg_elbo = _test_nll(name, lambda x: elbo(model, x), ctx, seed)
    extra: dict[str, float] = {}
    if entry.quality is not None:
        seed_everything(seed)
        extra = {key: float(value) for key, value in entry.quality(model, ctx).items()}
    row = Row(name=entry.name, family=entry.family, track=entry.track,
              params=_n_parameters(model), train_seconds=seconds, test_nll=test_nll,
              bits_per_dim=bpd, fdd=extra.pop("fdd", None), notes=entry.description,
              test_neg_elbo=neg_elbo, extra=extra)
    return row, model


def run_entry(name: str, *, device: str | torch.device = "cpu", seed: int = 0) -> Row:
    """Train and evaluate one entry on the digits test split."""
    return train_entry(name, device=device, seed=seed)[0]


def run(names: list[str] | None = None, *, device: str | torch.device = "cpu", seed: int = 0,
        progress: Callable[[str], None] | None = None) -> list[Row]:
    """Run several entries (all of them by default), in registry order."""
    selected = list(entries()) if not names else names
    for name in selected:
        get_entry(name)  # fail on a typo before anything trains
    rows = []
    for name in selected:
        if progress is not None:
            progress(name)
        rows.append(run_entry(name, device=device, seed=seed))
    return rows


def environment(device: str | torch.device = "cpu") -> dict[str, Any]:
    """Where the numbers were measured, stored beside them."""
    resolved = get_device(device)
    accelerator = torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else None
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} CPU threads",
        "device": str(resolved) if accelerator is None else f"{resolved} ({accelerator})",
    }
