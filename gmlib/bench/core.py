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

from gmlib.data import DIGITS_LEVELS, digits, mnist, ring_of_gaussians
from gmlib.metrics import bits_per_dim, dataset_log_likelihood
from gmlib.utils import count_parameters, get_device, seed_everything

__all__ = ["FAMILIES", "IWAE_K", "TRACKS", "BenchContext", "BenchEntry", "Row", "context",
           "entries", "evaluate_entry", "fit_entry", "get_entry", "iwae_score", "mean_elbo",
           "register", "run", "run_entry", "train_entry"]

FAMILIES = ("baseline", "bayesnet", "mixture", "linear", "autoregressive", "vae", "flow", "gan",
            "ebm", "diffusion", "two-stage")
# the digits protocol in two encodings, and the 2-D ring of 8 Gaussians for mode coverage
TRACKS = ("17-level", "binary", "ring-of-8")
# Modules whose import registers entries; each model issue adds its own.
ENTRY_MODULES = ("gmlib.bench.baselines", "gmlib.bench.bayesnets", "gmlib.bench.latent",
                 "gmlib.bench.autoregressive", "gmlib.bench.vae", "gmlib.bench.flows",
                 "gmlib.bench.gans", "gmlib.bench.diffusion",
                 "gmlib.bench.ebm", "gmlib.bench.two_stage", "gmlib.bench.masked")


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
    """What an entry gets: the data of its track, the device, the seed, and the run's options.

    Entries build their models from the data (`shape`, `levels`), so the same entry trains
    on the 8x8 digits or on 28x28 MNIST (`python -m gmlib.train`).

    Attributes:
        train, val, test: (N, C, H, W) grey levels 0..levels-1 (or 0/1), or (N, 2) points.
        levels: grey levels of an image track (2 on the binary track).
        train_labels: class labels of `train`, for conditional entries.
        epochs: replaces every entry's epoch budget (GANs: steps = epochs x batches).
        batch_size: replaces every entry's batch size (the global batch under torchrun).
        amp: mixed-precision training (see `gmlib.train.fit`).
        progress: show progress bars.
    """

    train: Tensor
    val: Tensor
    test: Tensor
    device: torch.device
    seed: int
    levels: int = DIGITS_LEVELS
    train_labels: Tensor | None = None
    epochs: int | None = None
    batch_size: int | None = None
    amp: bool = False
    progress: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one example, e.g. (1, 8, 8)."""
        return tuple(self.train.shape[1:])

    @property
    def n_dims(self) -> int:
        return math.prod(self.shape)

    def steps(self, steps: int, batch_size: int) -> int:
        """An entry's step budget, or `epochs` passes over the training set when set."""
        if self.epochs is None:
            return steps
        return self.epochs * math.ceil(len(self.train) / (self.batch_size or batch_size))

    def fit(self, model: nn.Module, *, epochs: int, batch_size: int = 64,
            validate: bool = True, **options: Any) -> nn.Module:
        """`gmlib.train.fit` on the training split (early stopping on val when `validate`),
        with the run's epochs, batch size, device, seed and precision; returns the model in
        eval mode."""
        from gmlib.train import fit

        fit(model, self.train, val_data=self.val if validate else None,
            epochs=self.epochs or epochs, batch_size=self.batch_size or batch_size,
            device=self.device, seed=self.seed, progress=self.progress, amp=self.amp,
            **options)
        return model.eval()


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
        build: `ctx -> model`, the untrained network `train` fits; entries with one can
            store their trained model (`gmlib.bench.stored`).
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
    build: Callable[[BenchContext], nn.Module] | None = None


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
    """All registered entries, by name, in registration order.

    Examples:
        >>> entry = entries()["independent-categorical"]
        >>> entry.family, entry.track
        ('baseline', '17-level')
    """
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


def _image_data(data: str, track: str, levels: int | None,
                ) -> tuple[dict[str, Tensor], Tensor, int]:
    """The splits, training labels and levels of an image track from a data spec."""
    binary = track == "binary"
    if binary and levels not in (None, 2):
        raise ValueError(f"the binary track has 2 levels; got levels={levels}")
    if data == "digits":
        natural = 2 if binary else DIGITS_LEVELS
        if levels not in (None, natural):
            raise ValueError(f"the digits come with {natural} levels on the {track} track; "
                             f"requantising them is not supported (got levels={levels})")
        split = {s: digits(s, binarize=binary) for s in ("train", "val", "test")}
        return split, digits("train", labels=True)[1], natural
    if not data.startswith("idx:"):
        raise ValueError(f"data must be 'digits' or 'idx:FOLDER' (MNIST-format IDX files); "
                         f"got {data!r}")
    folder = data[4:] or None  # "idx:" alone reads the folder in $GMLIB_MNIST_DIR
    images, labels = mnist(folder, "train", labels=True)
    test = mnist(folder, "test")
    n_val = max(1, len(images) // 6)  # MNIST: 50 000 to train on, 10 000 to validate
    split = {"train": images[:-n_val], "val": images[-n_val:], "test": test}
    if binary:
        split = {s: (x >= 128).float() for s, x in split.items()}
        return split, labels[:-n_val], 2
    levels = 256 if levels is None else levels
    if not 2 <= levels <= 256:
        raise ValueError(f"levels must be between 2 and 256 for 8-bit images; got {levels}")
    split = {s: torch.div(x * levels, 256, rounding_mode="floor") for s, x in split.items()}
    return split, labels[:-n_val], levels


def context(track: str, *, device: str | torch.device = "cpu", seed: int = 0,
            data: str = "digits", levels: int | None = None, **options: Any) -> BenchContext:
    """The data of a track and the run's options.

    Args:
        track: "17-level" (grey levels), "binary" (binarised pixels) or "ring-of-8" (samples
            of the ring of 8 Gaussians, radius 2, sd 0.05; fixed seeds 0, 1, 2).
        data: "digits" (the course's protocol: 17 levels, or binarised) or "idx:FOLDER",
            MNIST-format files on disk (train split: the first 5/6 of the training file, val
            the last 1/6, test the test file), with `levels` grey levels (default 256).
        options: `epochs`, `batch_size`, `amp`, `progress` (see `BenchContext`).
    """
    if track not in TRACKS:
        raise ValueError(f"track must be one of {TRACKS}; got {track!r}")
    device = get_device(device)
    if track == "ring-of-8":
        if data != "digits" or levels is not None:
            raise ValueError("the ring-of-8 track trains on generated 2-D points; it takes "
                             "no data or levels")
        ring = [ring_of_gaussians(RING_SIZES[s], seed=i) for i, s in enumerate(RING_SIZES)]
        return BenchContext(*ring, device, seed, **options)
    split, labels, levels = _image_data(data, track, levels)
    return BenchContext(split["train"], split["val"], split["test"], device, seed,
                        levels=levels, train_labels=labels, **options)


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


def fit_entry(entry: BenchEntry, ctx: BenchContext) -> tuple[nn.Module, float]:
    """Train an entry's model on `ctx`; return it and the seconds it took."""
    seed_everything(ctx.seed)
    start = time.perf_counter()
    model = entry.train(ctx)
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)
    return model, time.perf_counter() - start


def evaluate_entry(entry: BenchEntry, model: nn.Module, ctx: BenchContext, seconds: float, *,
                   quality: bool = True) -> Row:
    """The row of a trained model: test NLL (and bound), bits per dimension, and the sample
    metrics when `quality` (they judge digits, so only on the digits protocol)."""
    test_nll = bpd = None
    if entry.has_likelihood:
        score = entry.score
        fn = model.log_prob if score is None else (lambda x: score(model, x))
        test_nll = _test_nll(entry.name, fn, ctx, ctx.seed)
        bpd = bits_per_dim(test_nll, ctx.n_dims)
    neg_elbo = None
    if entry.elbo is not None:
        elbo = entry.elbo
        neg_elbo = _test_nll(entry.name, lambda x: elbo(model, x), ctx, ctx.seed)
    extra: dict[str, float] = {}
    if quality and entry.quality is not None:
        seed_everything(ctx.seed)
        extra = {key: float(value) for key, value in entry.quality(model, ctx).items()}
    return Row(name=entry.name, family=entry.family, track=entry.track,
               params=_n_parameters(model), train_seconds=seconds, test_nll=test_nll,
               bits_per_dim=bpd, fdd=extra.pop("fdd", None), notes=entry.description,
               test_neg_elbo=neg_elbo, extra=extra)


def train_entry(name: str, *, device: str | torch.device = "cpu",
                seed: int = 0) -> tuple[Row, nn.Module]:
    """Train and evaluate one entry on the digits test split; return its row and the model.

    Lectures use the model (samples, timings) and quote the row, so the book shows the very
    numbers the benchmark measures.
    """
    entry = get_entry(name)
    ctx = context(entry.track, device=device, seed=seed)
    model, seconds = fit_entry(entry, ctx)
    return evaluate_entry(entry, model, ctx, seconds), model


def run_entry(name: str, *, device: str | torch.device = "cpu", seed: int = 0) -> Row:
    """Train and evaluate one entry on the digits test split."""
    return train_entry(name, device=device, seed=seed)[0]


def run(names: list[str] | None = None, *, device: str | torch.device = "cpu", seed: int = 0,
        progress: Callable[[str], None] | None = None,
        keep: Callable[[Row, nn.Module], None] | None = None) -> list[Row]:
    """Run several entries (all of them by default), in registry order; `keep(row, model)`
    is called with each trained model (e.g. to store it)."""
    selected = list(entries()) if not names else names
    for name in selected:
        get_entry(name)  # fail on a typo before anything trains
    rows = []
    for name in selected:
        if progress is not None:
            progress(name)
        row, model = train_entry(name, device=device, seed=seed)
        if keep is not None:
            keep(row, model)
        rows.append(row)
    return rows


def environment(device: str | torch.device = "cpu") -> dict[str, Any]:
    """Where the numbers were measured, stored beside them."""
    resolved = get_device(device)
    accelerator = torch.cuda.get_device_name(resolved) if resolved.type == "cuda" else None
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # TorchVersion does not load with weights_only
        "machine": f"{platform.machine()}, {torch.get_num_threads()} CPU threads",
        "device": str(resolved) if accelerator is None else f"{resolved} ({accelerator})",
    }
