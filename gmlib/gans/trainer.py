"""`train_gan`: the two-player training loop (GANs do not fit `gmlib.train.fit`'s one loss).

Every step takes `n_critic` discriminator steps, then one generator step, each with its own
Adam optimiser (beta1 = 0.5, as in DCGAN). The loop knows nothing about the model beyond four
methods: `discriminator_loss(*batch)`, `generator_loss(*batch)`, `discriminator_parameters()`
and `generator_parameters()`, so GANs, conditional GANs, InfoGAN and CycleGAN all train here.
Both losses are recorded at every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gmlib.train.loop import progress_enabled
from gmlib.utils import get_device, seed_everything
from gmlib.validation import check_int, check_positive_int, check_tensor

__all__ = ["GANHistory", "train_gan"]


@dataclass
class GANHistory:
    """Both players' losses at every step (the last discriminator step of each)."""

    discriminator_loss: list[float] = field(default_factory=list)
    generator_loss: list[float] = field(default_factory=list)
    steps_run: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Batches:
    """Endless shuffled mini-batches of one or more tensors.

    Paired tensors (x, c) are shuffled together; unpaired ones (CycleGAN's two domains) each
    get their own permutation, so the model never sees which a goes with which b.
    """

    def __init__(self, tensors: tuple[Tensor, ...], batch_size: int, paired: bool,
                 generator: torch.Generator) -> None:
        self.tensors, self.batch_size, self.paired = tensors, batch_size, paired
        self.generator = generator
        self.orders = [torch.empty(0, dtype=torch.long) for _ in tensors]

    def _take(self, i: int) -> Tensor:
        n = len(self.tensors[i])
        if len(self.orders[i]) < self.batch_size:  # a new epoch of this tensor
            self.orders[i] = torch.randperm(n, generator=self.generator)
        index, self.orders[i] = self.orders[i][:self.batch_size], self.orders[i][self.batch_size:]
        return index

    def __next__(self) -> tuple[Tensor, ...]:
        if self.paired:
            index = self._take(0)
            return tuple(t[index.to(t.device)] for t in self.tensors)
        return tuple(t[self._take(i).to(t.device)] for i, t in enumerate(self.tensors))


def _as_tensors(data: Tensor | tuple[Tensor, ...], paired: bool) -> tuple[Tensor, ...]:
    tensors = (data,) if isinstance(data, Tensor) else tuple(data)
    if not tensors:
        raise ValueError("data must be a tensor or a non-empty tuple of tensors")
    for i, t in enumerate(tensors):
        check_tensor(t, f"data[{i}]")
        if t.dim() == 0 or len(t) == 0:
            raise ValueError(f"data[{i}] must hold at least one example; got shape "
                             f"{tuple(t.shape)}")
    if paired and len({len(t) for t in tensors}) > 1:
        raise ValueError("paired tensors (x, c) must have the same length; got "
                         f"{[len(t) for t in tensors]}")
    return tensors


def train_gan(model: nn.Module, data: Tensor | tuple[Tensor, ...], *, steps: int = 2000,
              batch_size: int = 64, lr: float = 2e-4, lr_discriminator: float | None = None,
              betas: tuple[float, float] = (0.5, 0.999), n_critic: int = 1,
              lr_decay: bool = False,
              device: str | torch.device = "auto", seed: int | None = None,
              progress: bool = True,
              callback: Callable[[int, nn.Module, GANHistory], None] | None = None,
              callback_every: int = 100) -> GANHistory:
    """Train a GAN-like model by alternating discriminator and generator Adam steps.

    Args:
        model: has `discriminator_loss(*batch)`, `generator_loss(*batch)` (scalars) and the
            two parameter methods. If it has `unpaired_data = True`, the tensors of `data`
            are shuffled independently (CycleGAN).
        data: a tensor x, or a tuple such as (x, c) or (a, b), on any device.
        steps: generator steps.
        batch_size: examples per step (per tensor).
        lr, lr_discriminator: Adam step sizes; the discriminator's defaults to `lr` (a larger
            one is the two time-scale rule of Heusel et al. 2017).
        betas: Adam's betas; (0.5, 0.999) as in DCGAN, (0, 0.9) is WGAN-GP's.
        n_critic: discriminator steps per generator step (5 in WGAN-GP).
        lr_decay: decay both step sizes linearly to zero over the run, which damps the
            players' oscillations at the end (CycleGAN's schedule).
        device: "auto" or a device; the model is moved there.
        seed: seeds everything and the shuffling.
        progress: a tqdm bar with both losses (`GMLIB_PROGRESS=0` turns it off).
        callback: called as `callback(step, model, history)` every `callback_every` steps.

    Returns:
        a `GANHistory`; the model is left in eval mode.
    """
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    check_int(n_critic, "n_critic", minimum=1)
    for method in ("discriminator_loss", "generator_loss", "discriminator_parameters",
                   "generator_parameters"):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"{type(model).__name__} has no {method}(); train_gan needs a "
                            "GAN-like model (gmlib.gans)")
    if seed is not None:
        seed_everything(seed)
    device = get_device(device)
    model.to(device).train()
    paired = not getattr(model, "unpaired_data", False)
    batches = _Batches(_as_tensors(data, paired), batch_size, paired,
                       torch.Generator().manual_seed(0 if seed is None else seed))
    d_opt = torch.optim.Adam(model.discriminator_parameters(),
                             lr=lr if lr_discriminator is None else lr_discriminator, betas=betas)
    g_opt = torch.optim.Adam(model.generator_parameters(), lr=lr, betas=betas)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / steps)
                  for opt in (d_opt, g_opt)] if lr_decay else []
    history = GANHistory()
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=type(model).__name__, leave=False,
               disable=not progress_enabled(progress))
    for step in bar:
        for _ in range(n_critic):
            batch = tuple(t.to(device) for t in next(batches))
            d_opt.zero_grad(set_to_none=True)
            d_loss = model.discriminator_loss(*batch)
            d_loss.backward()
            d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        g_loss = model.generator_loss(*batch)
        g_loss.backward()
        g_opt.step()
        for scheduler in schedulers:
            scheduler.step()
        history.discriminator_loss.append(float(d_loss.detach()))
        history.generator_loss.append(float(g_loss.detach()))
        history.steps_run = step
        if step % 50 == 0:
            bar.set_postfix(d=f"{history.discriminator_loss[-1]:.3f}",
                            g=f"{history.generator_loss[-1]:.3f}")
        if callback is not None and step % callback_every == 0:
            model.eval()
            callback(step, model, history)
            model.train()
    history.seconds = time.perf_counter() - start
    model.eval()
    return history
