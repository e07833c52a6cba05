"""Turning tensors into reproducible mini-batch loaders."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from gmlib.validation import check_positive_int

__all__ = ["as_dataset", "collate_for", "make_loader"]


def as_dataset(data: Tensor | tuple[Tensor, ...] | list[Tensor] | Dataset,
               name: str = "data") -> Dataset:
    """A Dataset from a tensor, a tuple of tensors with one row per example, or a Dataset."""
    if isinstance(data, Dataset):
        return data
    tensors = (data,) if isinstance(data, Tensor) else tuple(data) if isinstance(
        data, tuple | list) else None
    if tensors is None or not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{name} must be a Tensor, a tuple of Tensors or a torch Dataset; "
                        f"got {type(data).__name__}")
    sizes = {t.shape[0] if t.dim() else -1 for t in tensors}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(f"{name}: every tensor needs the same number of rows; got sizes "
                         f"{[tuple(t.shape) for t in tensors]}")
    if 0 in sizes:
        raise ValueError(f"{name} is empty")
    return TensorDataset(*tensors)


def make_loader(data: Tensor | tuple[Tensor, ...] | Dataset, *, batch_size: int = 128,
                shuffle: bool = True, seed: int | None = None,
                drop_last: bool = False) -> DataLoader:
    """A DataLoader whose shuffling is reproducible when `seed` is given.

    A plain tensor yields batches that are tensors; a tuple `(x, c)` yields `[x, c]` pairs,
    which `gmlib.train.fit` passes to conditional models as `loss(x, c=c)`.
    """
    check_positive_int(batch_size, "batch_size")
    dataset = as_dataset(data)
    generator = None
    if shuffle and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    if isinstance(dataset, TensorDataset):
        # index the tensors once per batch instead of once per example and stacking: the
        # same batches in the same order (the same sampler and generator), many times
        # faster for small models, where fetching rows one by one dominated a step
        order = (RandomSampler(dataset, generator=generator) if shuffle
                 else SequentialSampler(dataset))
        batches = BatchSampler(order, batch_size, drop_last)
        single = isinstance(data, Tensor)
        return DataLoader(dataset, batch_size=None, sampler=batches, generator=generator,
                          collate_fn=(lambda rows: rows[0]) if single else list)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      drop_last=drop_last, collate_fn=collate_for(data))


def collate_for(data: Tensor | tuple[Tensor, ...] | Dataset) -> Callable | None:
    """How to batch rows of `data`: a plain tensor gives tensor batches (not 1-tuples), a
    tuple `(x, c)` or a Dataset gives PyTorch's default `[x, c]` lists."""
    if isinstance(data, Tensor):
        return lambda rows: torch.stack([r[0] for r in rows])
    return None
