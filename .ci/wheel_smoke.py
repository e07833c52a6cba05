"""Run from outside the repository by .ci/run: the installed wheel alone trains, scores,
samples and compresses a small model, and ships its type marker and the digit classifier."""

from __future__ import annotations

from pathlib import Path

import torch

import gmlib
from gmlib.autoregressive import MADE
from gmlib.coding import compress, decompress
from gmlib.data import digits
from gmlib.metrics import digit_classifier
from gmlib.train import fit

root = Path(gmlib.__file__).parent
assert "site-packages" in str(root), f"gmlib was imported from {root}, not the wheel"
assert (root / "py.typed").is_file(), "the wheel lacks py.typed"
x = digits("train", binarize=True)
model = MADE((1, 8, 8), 2, hidden_sizes=(64,))
history = fit(model, x, epochs=2, seed=0, progress=False)
test = digits("test", binarize=True)
with torch.no_grad():
    nll = float(-model.log_prob(test).mean())
assert nll < 44.4, f"MADE after 2 epochs: {nll:.1f} nats, no better than 64 fair coins"
samples = model.sample(8, generator=torch.Generator().manual_seed(0))
assert samples.shape == (8, 1, 8, 8)
assert torch.equal(decompress(model, compress(model, test[:10])), test[:10])
digit_classifier()  # the shipped weights load
print(f"gmlib {gmlib.__version__} from the wheel: MADE test NLL {nll:.1f} nats, "
      f"{history.steps_run} steps, compress round trip ok")
