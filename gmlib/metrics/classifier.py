"""The course's digit classifier: the feature extractor of every sample-quality metric.

FID (Heusel et al. 2017) compares generated and real images through the features of an
Inception network trained on ImageNet, images the generators never saw. The 8x8 digits need
no downloaded network: a small CNN trained by gmlib plays Inception's part. Its penultimate
layer (64 features) feeds the Frechet digit distance, MMD, precision/recall and
density/coverage; its predictions judge whether a conditional model drew the class it was
asked for.

**Which digits it sees.** Models fit the "train" split; the metrics compare samples with the
"test" split. A feature network trained on either would judge samples by how much they look
like the images it memorised (the first edition's network reached 100% on the training
digits, and uniform noise got half the precision of real digits). This one is trained on the
"val" split only (350 digits; 9 one-pixel shifts and 18 small random affine warps of each,
Simard et al. 2003), so both the models' digits and the reference digits are held out from
it. Its held-out accuracies are stored with it: about 95% on the training digits, 97% on the
test digits.

**Shipped, not retrained.** The trained weights ship with gmlib
(`gmlib/metrics/digit_classifier_v2.pt`) with a sidecar JSON holding their SHA-256, so every
machine scores samples with the same network; retraining on another machine changes FDDs by
several units. `python -m gmlib.metrics` re-runs the recipe (about 30 s on a 2-core
CPU) and rewrites both files.

References:
    Heusel et al. 2017, GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium (FID), https://arxiv.org/abs/1706.08500
    Simard et al. 2003, Best practices for convolutional neural networks applied to visual
    document analysis (training on distorted copies)
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import pickle
from pathlib import Path

import torch
from torch import Tensor, nn

from gmlib.data import digits
from gmlib.train import fit
from gmlib.utils import get_device, seed_everything
from gmlib.validation import check_finite, check_tensor

__all__ = ["DigitClassifier", "affine_copies", "classifier_weights_path", "digit_classifier",
           "digit_features", "shifted_copies", "train_digit_classifier", "write_digit_classifier"]

# bump when the architecture or the training recipe changes (the file name carries it)
RECIPE_VERSION = 2
N_FEATURES = 64
N_CLASSES = 10
GREY_LEVELS = 16.0
TRAINING_SPLIT = "val"  # neither the models' split ("train") nor the reference ("test")
HELD_OUT_SPLITS = ("train", "test")
_EPOCHS, _LR, _WEIGHT_DECAY, _BATCH, _SEED = 25, 2e-3, 1e-3, 128, 0
_N_WARPS = 18  # random affine copies per image, beside the 9 shifts


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
        self.held_out_accuracy: dict[str, float] = {}
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

    Shapes:
        x: (B, 1, 8, 8) -> returns (9B, 1, 8, 8), shift-major
    """
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    return torch.cat([padded[:, :, dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)])


def affine_copies(x: Tensor, copies: int, *, generator: torch.Generator) -> Tensor:
    """`copies` random small affine warps of each image, resampled bilinearly (zero fill).

    Each warp rotates by up to 12 degrees, scales by 0.9-1.1, shears by up to 0.15 and shifts
    by up to 1 pixel: the variation between writers that 350 digits cannot show. Warped
    copies of the "val" digits raise the accuracy on the held-out training digits from ~90%
    (shifts only) to ~95%.

    Shapes:
        x: (B, 1, 8, 8) -> returns (copies * B, 1, 8, 8), copy-major
    """
    images = x.repeat(copies, 1, 1, 1)
    n = len(images)

    def uniform(scale: float, *shape: int) -> Tensor:
        return (torch.rand(n, *shape, generator=generator) * 2 - 1) * scale

    angle, scale = uniform(math.radians(12)), 1 + uniform(0.1)
    shear, shift = uniform(0.15), uniform(0.25, 2)  # 0.25 of the half-width is 1 pixel
    cos, sin = angle.cos() * scale, angle.sin() * scale
    theta = torch.stack([torch.stack([cos, shear - sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (n, 2, 3)
    grid = nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    return nn.functional.grid_sample(images, grid, align_corners=False)


def train_digit_classifier(*, seed: int = _SEED) -> DigitClassifier:
    """The recipe: 25 epochs of AdamW on the shifted and warped "val" digits, CPU, `seed`.

    Returns:
        the classifier in eval mode with gradients off, its held-out accuracies measured.
    """
    seed_everything(seed)
    model = DigitClassifier()
    x, y = digits(TRAINING_SPLIT, labels=True)
    warps = affine_copies(x, _N_WARPS, generator=torch.Generator().manual_seed(seed))
    inputs = torch.cat([shifted_copies(x), warps])
    targets = torch.cat([y.repeat(9), y.repeat(_N_WARPS)])
    fit(model, (inputs, targets), epochs=_EPOCHS, lr=_LR, weight_decay=_WEIGHT_DECAY,
        batch_size=_BATCH, seed=seed, device="cpu", progress=False)
    return _frozen(model)


def _frozen(model: DigitClassifier) -> DigitClassifier:
    model.eval().requires_grad_(False)
    model.held_out_accuracy = {}
    for split in HELD_OUT_SPLITS:
        x, y = digits(split, labels=True)
        model.held_out_accuracy[split] = float((model.predict(x) == y).double().mean())
    model.test_accuracy = model.held_out_accuracy["test"]
    return model


def classifier_weights_path() -> Path:
    """The shipped weights; their SHA-256 is in the sidecar file with suffix .json."""
    return Path(__file__).with_name(f"digit_classifier_v{RECIPE_VERSION}.pt")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_digit_classifier(model: DigitClassifier, path: Path | None = None) -> Path:
    """Save `model`'s weights to `path` (the shipped file by default) and its sidecar JSON."""
    path = classifier_weights_path() if path is None else Path(path)
    torch.save(model.state_dict(), path)
    record = {"recipe_version": RECIPE_VERSION, "training_split": TRAINING_SPLIT,
              "sha256": _sha256(path), "torch": torch.__version__,
              "held_out_accuracy": getattr(model, "held_out_accuracy", None)}
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return path


def _load(path: Path) -> DigitClassifier:
    """Read and verify weights written by `write_digit_classifier`."""
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        raise FileNotFoundError(f"the digit classifier's weights {path} or their record "
                                f"{sidecar.name} are missing; reinstall gmlib or run "
                                "`python -m gmlib.metrics` to retrain them")
    try:
        record = json.loads(sidecar.read_text())
        expected = record["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{sidecar} is not a record written by write_digit_classifier "
                         f"({error})") from error
    if _sha256(path) != expected:
        raise ValueError(f"{path} does not match the SHA-256 in {sidecar.name}: the file is "
                         "corrupted or was replaced; reinstall gmlib or run `python -m "
                         "gmlib.metrics` to retrain it")
    model = DigitClassifier()
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (RuntimeError, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"{path} does not hold DigitClassifier weights ({error})") from error
    return _frozen(model)


_MEMO: dict[str, DigitClassifier] = {}


def digit_classifier(device: str | torch.device = "cpu") -> DigitClassifier:
    """The shipped, frozen digit classifier.

    Args:
        device: where the returned copy lives ("auto" picks CUDA or MPS when present).

    Returns:
        the classifier in eval mode with gradients off; `held_out_accuracy` maps the splits
        it never saw ("train", "test") to its accuracy on them (`test_accuracy`: "test").

    Raises:
        FileNotFoundError, ValueError: the weights are missing or fail their checksum.
    """
    device = get_device(device)
    if "cpu" not in _MEMO:
        _MEMO["cpu"] = _load(classifier_weights_path())
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

