"""The course's digit classifier: the feature extractor of every sample-quality metric.

FID (Heusel et al. 2017) compares generated and real images through the features of an
Inception network trained on ImageNet. The 8x8 digits need no downloaded network: a small CNN
trained here, deterministically, on the training split plays Inception's part. Its
penultimate layer (64 features) feeds the Frechet digit distance, MMD and precision/recall;
its predictions judge whether a conditional model drew the class it was asked for.

The trained weights are cached in `classifier_cache_path()`: `$GMLIB_CACHE` when set,
otherwise `~/.cache/gmlib`, in a file named after the recipe's version. Delete the file to
retrain (about 8 s on a 2-core CPU). Training always runs on the CPU with a fixed seed, so
every machine gets the same network up to floating-point summation order.

References:
    Heusel et al. 2017, GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium (FID), https://arxiv.org/abs/1706.08500
"""

from __future__ import annotations

import copy
import os
import pickle
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from gmlib.data import digits
from gmlib.train import fit
from gmlib.utils import get_device, seed_everything
from gmlib.validation import check_finite, check_tensor

__all__ = ["DigitClassifier", "classifier_cache_path", "digit_classifier", "digit_features",
           "shifted_copies"]

# bump when the architecture or the training recipe changes: old caches are then ignored
RECIPE_VERSION = 1
N_FEATURES = 64
N_CLASSES = 10
GREY_LEVELS = 16.0
_EPOCHS, _LR, _WEIGHT_DECAY, _BATCH, _SEED = 15, 2e-3, 1e-3, 128, 0


def _as_images(x: Tensor, name: str = "x") -> Tensor:
    """(B, 1, 8, 8) or (B, 64) grey levels on the 0..16 scale -> (B, 1, 8, 8) floats."""
    check_tensor(x, name)
    if x.dim() == 2 and x.shape[1] == 64:
        x = x.reshape(-1, 1, 8, 8)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise ValueError(f"{name} must be digits of shape (B, 1, 8, 8) or (B, 64); got "
                         f"{tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image; got an empty batch")
    x = check_finite(x.float(), name)
    low, high = float(x.min()), float(x.max())
    if low < -1.0 or high > GREY_LEVELS + 1.0:
        raise ValueError(f"{name} must hold grey levels on the 0..16 scale of gmlib.data.digits; "
                         f"got values in [{low:.3g}, {high:.3g}]")
    if x.shape[0] >= 10 and high <= 1.0:
        raise ValueError(f"{name} looks binary or scaled to [0, 1] (its maximum is {high:.3g}); "
                         "the classifier expects grey levels 0..16: multiply by 16 first")
    return x


class DigitClassifier(nn.Module):
    """A small CNN: two 3x3 conv blocks with max-pooling, 64 features, 10 logits.

    Shapes:
        x: (B, 1, 8, 8) or (B, 64), grey levels 0..16 -> features (B, 64), logits (B, 10)
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, 4, 4)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, 2, 2)
            nn.Flatten(), nn.Linear(8 * width, N_FEATURES), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(N_FEATURES, N_CLASSES))
        self.test_accuracy: float | None = None

    def features(self, x: Tensor) -> Tensor:
        """Penultimate activations, the representation the sample metrics compare."""
        x = _as_images(x).to(self.head[1].weight.device)
        return self.body(x / GREY_LEVELS)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def loss(self, x: Tensor, c: Tensor) -> Tensor:
        """Cross-entropy per example (what `gmlib.train.fit` minimises)."""
        return nn.functional.cross_entropy(self(x), c.long(), reduction="none")

    @torch.no_grad()
    def predict(self, x: Tensor, *, batch_size: int = 1024) -> Tensor:
        """The most probable class of each image, (B,) int64 on the input's device."""
        out = [self(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        return torch.cat(out).to(x.device)


def shifted_copies(x: Tensor) -> Tensor:
    """The 9 translations of each image by -1, 0 or +1 pixel in each direction (zero fill).

    The test writers of the digits place their strokes slightly differently from the training
    writers; shifted copies raise the classifier's test accuracy from ~94% to ~98%.

    Shapes:
        x: (B, 1, 8, 8) -> returns (9B, 1, 8, 8), shift-major
    """
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    return torch.cat([padded[:, :, dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)])


def classifier_cache_path() -> Path:
    """Where the trained classifier is stored: `$GMLIB_CACHE` or `~/.cache/gmlib`."""
    root = os.environ.get("GMLIB_CACHE") or Path.home() / ".cache" / "gmlib"
    return Path(root) / f"digit_classifier_v{RECIPE_VERSION}.pt"


def _train() -> DigitClassifier:
    """The recipe: 15 epochs of AdamW on the shifted training digits, on the CPU, seed 0."""
    seed_everything(_SEED)
    model = DigitClassifier()
    x, y = digits("train", labels=True)
    fit(model, (shifted_copies(x), y.repeat(9)), epochs=_EPOCHS, lr=_LR,
        weight_decay=_WEIGHT_DECAY, batch_size=_BATCH, seed=_SEED, device="cpu", progress=False)
    return model


def _load(path: Path) -> DigitClassifier | None:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier()
        model.load_state_dict(state)
        return model
    except (OSError, EOFError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError):
        return None  # a corrupt or stale cache: retrain


def _save(model: DigitClassifier, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        torch.save(model.state_dict(), partial)
        partial.replace(path)  # atomic: a reader never sees half a file
    except OSError as error:
        warnings.warn(f"could not cache the digit classifier at {path} ({error}); it will be "
                      "retrained in the next session. Set GMLIB_CACHE to a writable folder.",
                      stacklevel=3)


_MEMO: dict[str, DigitClassifier] = {}


def digit_classifier(device: str | torch.device = "cpu", *,
                     cache: bool = True) -> DigitClassifier:
    """The trained, frozen digit classifier (trained on first use, then cached).

    Args:
        device: where the returned copy lives ("auto" picks CUDA or MPS when present).
        cache: read and write the weights at `classifier_cache_path()`; False retrains.

    Returns:
        the classifier in eval mode with gradients off; `test_accuracy` holds its accuracy
        on the 447 test digits.
    """
    device = get_device(device)
    if not cache or "cpu" not in _MEMO:
        path = classifier_cache_path()
        model = _load(path) if cache and path.is_file() else None
        if model is None:
            model = _train()
            if cache:
                _save(model, path)
        model.eval().requires_grad_(False)
        x_test, y_test = digits("test", labels=True)
        model.test_accuracy = float((model.predict(x_test) == y_test).double().mean())
        if not cache:
            return model.to(device)
        _MEMO["cpu"] = model
    if str(device) not in _MEMO:
        _MEMO[str(device)] = copy.deepcopy(_MEMO["cpu"]).to(device)
    return _MEMO[str(device)]


@torch.no_grad()
def digit_features(x: Tensor, classifier: DigitClassifier | None = None, *,
                   batch_size: int = 1024) -> Tensor:
    """Penultimate features of the digit classifier, in float64 on the CPU.

    Shapes:
        x: (N, 1, 8, 8) or (N, 64) -> returns (N, 64)
    """
    classifier = digit_classifier() if classifier is None else classifier
    x = _as_images(x)
    out = [classifier.features(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(out).double().cpu()
