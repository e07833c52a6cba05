"""`fit`: the one training loop of the course, for every model that defines `loss(x)`.

It knows nothing about any model (the split of minGPT's Trainer and lucidrains' diffusion
Trainer): a model computes its per-example loss, `fit` averages it over a mini-batch and
steps the optimiser. Read it top to bottom: data, device, optimiser, epochs, validation,
early stopping, best weights restored.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from gmlib.base import GenerativeModel
from gmlib.data.loaders import make_loader
from gmlib.train import distributed as ddp
from gmlib.utils import get_device, seed_everything
from gmlib.validation import check_nonnegative, check_positive_int

__all__ = ["History", "fit"]

Data = Tensor | tuple[Tensor, ...] | Dataset | DataLoader


@dataclass
class History:
    """What happened during `fit`: losses per epoch (mean nats per example) and per step."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    epochs_run: int = 0
    steps_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain types only, so it can be stored in a checkpoint or as JSON."""
        return asdict(self)


def _loader(data: Data, batch_size: int, shuffle: bool, seed: int | None,
            train: bool) -> DataLoader:
    if isinstance(data, DataLoader):
        if ddp.is_distributed():
            raise ValueError("under torchrun pass tensors or a Dataset, not a DataLoader: "
                             "fit gives each process its shard with a DistributedSampler")
        return data
    if ddp.is_distributed():
        return ddp.shard_loader(data, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                train=train)
    return make_loader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _batch_loss(loss_fn: Callable[..., Tensor], batch: Tensor | list[Tensor] | tuple[Tensor, ...],
                device: torch.device, name: str, model: nn.Module | None = None
                ) -> tuple[Tensor, int]:
    """Mean loss of one batch; a `(x, c)` batch is a conditional model's `loss(x, c=c)`.

    `loss_fn` is the model's `loss`, or the module that computes it under torchrun."""
    if isinstance(batch, Tensor):
        x, kwargs = batch.to(device), {}
    elif isinstance(batch, list | tuple) and len(batch) == 1:
        x, kwargs = batch[0].to(device), {}
    elif isinstance(batch, list | tuple) and len(batch) == 2:
        x, kwargs = batch[0].to(device), {"c": batch[1].to(device)}
        if isinstance(model, GenerativeModel):  # an unconditional model must not drop c
            model.check_condition(kwargs["c"])
    else:
        raise TypeError("each batch must be a Tensor x or a pair (x, c); got "
                        f"{type(batch).__name__} of length {len(batch)}")
    losses = loss_fn(x, **kwargs)
    if losses.dim() != 1 or losses.shape[0] != x.shape[0]:
        raise ValueError(f"{name}.loss must return one value per example, "
                         f"shape ({x.shape[0]},); got {tuple(losses.shape)}")
    if losses.dtype in (torch.float16, torch.bfloat16):  # mixed precision: average in float32
        losses = losses.float()
    return losses.mean(), x.shape[0]


@torch.no_grad()
def _evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """Mean loss over the loader; under torchrun over every process's slice together."""
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        loss, n = _batch_loss(model.loss, batch, device, type(model).__name__, model)
        total += float(loss) * n
        count += n
    total, count = ddp.reduce_sums(total, count, device=device)
    return total / count


def _mixed_precision(device: torch.device, amp: bool) -> tuple[Any, Any]:
    """The autocast context and gradient scaler of a mixed-precision step.

    float16 with loss scaling on CUDA (small gradients would underflow to zero without
    it); bfloat16, which has float32's range and needs no scaling, elsewhere.
    Micikevicius et al. 2018, Mixed Precision Training, https://arxiv.org/abs/1710.03740
    """
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    autocast = torch.autocast(device_type=device.type, dtype=dtype, enabled=amp)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    return autocast, scaler


def progress_enabled(progress: bool) -> bool:
    # GMLIB_PROGRESS=0 silences every bar (the book build and CI logs set it)
    return progress and os.environ.get("GMLIB_PROGRESS", "1") != "0"


LR_SCHEDULES = ("constant", "cosine")


def _scheduler(opt: torch.optim.Optimizer, kind: str, planned: int, max_steps: int | None
               ) -> torch.optim.lr_scheduler.LRScheduler | None:
    if kind == "constant":
        return None
    total = max(1, planned if max_steps is None else min(planned, max_steps))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))


def _batches(loader: DataLoader) -> int:
    try:
        return len(loader)
    except TypeError:  # an iterable dataset of unknown length: plan one batch per epoch
        return 1


def fit(model: nn.Module, train_data: Data, *, val_data: Data | None = None,
        epochs: int = 10, max_steps: int | None = None, lr: float = 1e-3,
        batch_size: int = 128, weight_decay: float = 0.0, grad_clip: float | None = None,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        patience: int | None = None, min_delta: float = 0.0,
        device: str | torch.device = "auto", seed: int | None = None, progress: bool = True,
        callback: Callable[[int, nn.Module, History], None] | None = None,
        shuffle: bool = True, amp: bool = False, lr_schedule: str = "constant") -> History:
    """Train `model` by minimising the mean of `model.loss(x)` with mini-batch Adam.

    Args:
        model: any module with `loss(x)` (or `loss(x, c=c)`) returning one value per example.
        train_data: a tensor x, a tuple (x, c) for conditional models, a Dataset or a
            DataLoader.
        val_data: the same kinds; when given, evaluated after every epoch, used for early
            stopping, and the weights of the best epoch are restored at the end.
        epochs: passes over `train_data`.
        max_steps: stop after this many optimiser steps (whatever the epoch).
        lr, weight_decay: of the optimiser (AdamW by default).
        batch_size: examples per step when the data is not already a DataLoader. Under
            `torchrun` it is the global batch: each of N processes takes batch_size / N.
        grad_clip: clip the global gradient norm to this value.
        optimizer: a factory `params -> Optimizer`, e.g. `lambda p: torch.optim.SGD(p, lr=0.1)`.
        patience: stop when the validation loss has not improved by `min_delta` for this
            many epochs (needs `val_data`).
        device: "auto" (CUDA, MPS, CPU), or a device; the model is moved there.
        seed: seeds everything first and the shuffling, for a reproducible run.
        progress: show a tqdm bar (`GMLIB_PROGRESS=0` in the environment turns it off).
        callback: called as `callback(epoch, model, history)` after every epoch.
        shuffle: draw the training batches in a new random order every epoch.
        amp: mixed precision (float16 with loss scaling on CUDA, bfloat16 on CPU): faster on
            GPUs with tensor cores; the validation loss is still computed in float32.
        lr_schedule: "constant", or "cosine": the learning rate decays from `lr` to 0 over
            the planned steps (epochs x batches, or max_steps if fewer), half a cosine
            (Loshchilov & Hutter 2017); small models reach a lower loss in the same steps.

    Under `torchrun` (see `gmlib.train.distributed`) the model is wrapped in PyTorch's
    DistributedDataParallel, every process trains on its shard of each global batch, and the
    losses in the history are those of the global batches, the same in every process.

    Returns:
        A `History` of the run. The model is left in eval mode on `device`.

    Raises:
        ValueError: bad arguments, or a loss that became NaN/inf (with the step it happened).

    Examples:
        >>> import torch
        >>> from gmlib.data import digits
        >>> from gmlib.flows import RealNVP
        >>> model = RealNVP((64,), n_layers=2, hidden=32)
        >>> x = digits("train", flatten=True) / 16 + torch.rand(1000, 64) / 16  # dequantised
        >>> history = fit(model, x, epochs=1, batch_size=100, seed=0)
        >>> history.steps_run, len(history.step_loss)
        (10, 10)
    """
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if max_steps is not None:
        check_positive_int(max_steps, "max_steps")
    if patience is not None:
        check_positive_int(patience, "patience")
        if val_data is None:
            raise ValueError("patience (early stopping) needs val_data")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not (
            math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    if grad_clip is not None and (isinstance(grad_clip, bool) or not isinstance(
            grad_clip, int | float) or not (math.isfinite(grad_clip) and grad_clip > 0)):
        raise ValueError("grad_clip must be None (no clipping) or a finite number > 0, the "
                         f"largest gradient norm a step may take; got {grad_clip!r}")
    check_nonnegative(min_delta, "min_delta")
    check_nonnegative(weight_decay, "weight_decay")
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"{type(model).__name__} has no loss(x) method to minimise")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {lr_schedule!r}")

    if seed is not None:
        seed_everything(seed)
    device = get_device(device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters; fit it in "
                         "closed form (its fit method) instead")
    opt = (optimizer(params) if optimizer is not None
           else torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay))
    train_loader = _loader(train_data, batch_size, shuffle, seed, train=True)
    scheduler = _scheduler(opt, lr_schedule, epochs * _batches(train_loader), max_steps)
    val_loader = None if val_data is None else _loader(val_data, 512, False, None, train=False)
    # model.loss as a module; under torchrun, DDP averages its gradients over the processes
    name = type(model).__name__
    step_module = ddp.wrap(model, device, probe=lambda: _batch_loss(
        model.loss, next(iter(train_loader)), device, name, model)[0])
    if ddp.is_distributed():
        # same weights everywhere (DDP broadcast them), but different dropout and noise draws
        torch.manual_seed(torch.initial_seed() + ddp.rank())
    autocast, scaler = _mixed_precision(device, amp)

    history = History()
    best_state: dict[str, Tensor] | None = None
    epochs_without_gain = 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=type(model).__name__, disable=not progress_enabled(progress))
    for epoch in bar:
        model.train()
        if hasattr(train_loader.sampler, "set_epoch"):
            train_loader.sampler.set_epoch(epoch)  # DistributedSampler: a new order
        total, count = 0.0, 0
        for batch in train_loader:
            with autocast:
                loss, n = _batch_loss(step_module, batch, device, name, model)
            if not torch.isfinite(loss):
                raise ValueError(f"the training loss became {loss.item()} at step "
                                 f"{history.steps_run} (epoch {epoch}); lower lr or set "
                                 "grad_clip")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, grad_clip)
            scaler.step(opt)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            value, n = ddp.reduce_sums(loss.item() * n, n, device=device)
            value /= n
            history.step_loss.append(value)
            history.steps_run += 1
            total += value * n
            count += n
            if max_steps is not None and history.steps_run >= max_steps:
                break
        history.train_loss.append(total / count)
        history.epochs_run = epoch + 1
        postfix = {"train": f"{history.train_loss[-1]:.3f}"}

        if val_loader is not None:
            val = _evaluate(model, val_loader, device)
            history.val_loss.append(val)
            postfix["val"] = f"{val:.3f}"
            if history.best_val_loss is None or val < history.best_val_loss - min_delta:
                history.best_val_loss, history.best_epoch = val, epoch
                best_state = copy.deepcopy(model.state_dict())
                epochs_without_gain = 0
            else:
                epochs_without_gain += 1
        bar.set_postfix(postfix)
        if callback is not None:
            callback(epoch, model, history)
        if patience is not None and epochs_without_gain >= patience:
            history.stopped_early = True
            break
        if max_steps is not None and history.steps_run >= max_steps:
            break
    bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history
