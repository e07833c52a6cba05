"""A tiny data-parallel run for tests/test_distributed.py, started there by torchrun.

`python -m torch.distributed.run --standalone --nproc_per_node=N tests/ddp_worker.py OUT
[--shuffle]` trains an FVSBN on 64 fixed binary 4x4 images with `gmlib.train.fit` and saves
what each process ended with as OUT/rank{r}.pt. Called as a function, `train()` is the
single-process reference.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from gmlib.autoregressive import FVSBN
from gmlib.train import fit
from gmlib.train.distributed import init_distributed, rank, world_size

GLOBAL_BATCH = 16


def data() -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return (torch.rand(64, 1, 4, 4, generator=gen) < 0.4).float()


def train(shuffle: bool = False) -> dict[str, Any]:
    """Three epochs of 4 global batches; the weights and the losses it recorded."""
    device = init_distributed("cpu")
    torch.manual_seed(0)
    model = FVSBN((1, 4, 4))
    x = data()
    history = fit(model, x, val_data=x[:24], epochs=3, batch_size=GLOBAL_BATCH, lr=0.05,
                  shuffle=shuffle, seed=0, device=device, progress=False)
    return {"state": model.state_dict(), "step_loss": history.step_loss,
            "train_loss": history.train_loss, "val_loss": history.val_loss,
            "world_size": world_size()}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    result = train(shuffle="--shuffle" in sys.argv[2:])
    torch.save(result, out / f"rank{rank()}.pt")
    if world_size() > 1:
        torch.distributed.destroy_process_group()
