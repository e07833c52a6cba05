"""Data-parallel training with PyTorch's own machinery, for runs started by `torchrun`.

`torchrun --nproc_per_node=N` starts N copies of a script and tells each, through environment
variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), who it is and where to
meet. `init_distributed` joins that process group (gloo on CPU, nccl on CUDA); `fit` then
wraps the model in `DistributedDataParallel`, which averages the gradients of the N
processes after every backward pass, and gives each process its own shard of every global
batch through a `DistributedSampler`. Nothing here moves tensors between processes by hand.

Reference: Li et al. 2020, PyTorch Distributed: Experiences on Accelerating Data Parallel
Training, VLDB, https://arxiv.org/abs/2006.15704
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from gmlib.data.loaders import as_dataset, collate_for

__all__ = ["LossModule", "init_distributed", "is_distributed", "rank", "reduce_sums",
           "shard_loader", "world_size", "wrap"]


def is_distributed() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """How many processes train together (1 outside `torchrun`)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's number, 0 .. world_size - 1 (0 outside `torchrun`)."""
    return dist.get_rank() if is_distributed() else 0


def init_distributed(device: str | torch.device = "auto") -> torch.device:
    """Join the process group `torchrun` describes in the environment, if there is one.

    Each process takes GPU `LOCAL_RANK` when CUDA is used; the backend is nccl on CUDA and
    gloo on CPU. Outside `torchrun` (no WORLD_SIZE, or WORLD_SIZE=1) nothing happens.

    Returns:
        The device this process trains on.
    """
    from gmlib.utils import get_device

    device = get_device(device)
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ValueError(f"distributed training runs on CPU (gloo) or CUDA (nccl); got "
                         f"device {device}")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


class LossModule(nn.Module):
    """`forward(x, **kw) = model.loss(x, **kw)`: DDP hooks `forward`, our models `loss`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, **kwargs: Any) -> Tensor:
        return self.model.loss(x, **kwargs)


def _has_unused_parameters(model: nn.Module, probe: Callable[[], Tensor]) -> bool:
    """Whether some trainable parameter gets no gradient from the loss `probe()` computes
    (WaveNet's last residual convolution, for one). Run in eval mode, so that batch norm
    statistics are left as they are."""
    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    try:
        grads = torch.autograd.grad(probe(), params, allow_unused=True)
    finally:
        model.train(was_training)
    return any(g is None for g in grads)


def wrap(model: nn.Module, device: torch.device,
         probe: Callable[[], Tensor] | None = None) -> nn.Module:
    """`model.loss` as a module whose backward pass averages gradients over the processes.

    DDP waits for a gradient of every parameter; when `probe` (the loss of one batch) shows
    that some parameters get none, it is told to look for them at every step.
    """
    module = LossModule(model)
    if not is_distributed():
        return module
    ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    unused = probe is not None and _has_unused_parameters(model, probe)
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=unused)


def shard_loader(data: Tensor | tuple[Tensor, ...] | Dataset, *, batch_size: int,
                 shuffle: bool, seed: int | None, train: bool) -> DataLoader:
    """This process's share of the data: `batch_size / world_size` examples per training step,
    `batch_size` per evaluation step.

    Training data goes through a `DistributedSampler` (call `loader.sampler.set_epoch(e)`
    every epoch for a new order); the global batch b is the union of every process's batch
    b. Evaluation data is split into disjoint slices rank, rank + N, ... with no padding, so
    that summed over the processes every example counts exactly once.
    """
    size = world_size()
    dataset = as_dataset(data)
    collate = collate_for(data)
    if train:
        if batch_size % size:
            raise ValueError(f"batch_size ({batch_size}) must be a multiple of the number of "
                             f"processes ({size}): it is the global batch, split evenly")
        sampler = DistributedSampler(dataset, num_replicas=size, rank=rank(), shuffle=shuffle,
                                     seed=0 if seed is None else seed)
        return DataLoader(dataset, batch_size=batch_size // size, sampler=sampler,
                          collate_fn=collate)
    part = Subset(dataset, range(rank(), len(dataset), size))
    return DataLoader(part, batch_size=batch_size, shuffle=False, collate_fn=collate)


def reduce_sums(*values: float, device: torch.device) -> list[float]:
    """Each value summed over the processes (unchanged in a single process)."""
    if not is_distributed():
        return list(values)
    # float64: the totals of a long epoch must not lose the last digits of the mean
    buffer = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
    return buffer.tolist()
