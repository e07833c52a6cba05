"""Bench entries for the autoregressive models (lectures 05-06).

Binary track: FVSBN, NADE and MADE (one ordering, and an ensemble of orderings trained
order-agnostically) on binarised digits. 17-level track: PixelCNN, PixelRNN's Row LSTM, an
LSTM over the pixel sequence, WaveNet and the causal transformer with categorical outputs over
the 17 grey levels. Every model is trained with `gmlib.train.fit` on the training split,
early-stopped on the validation split (the best epoch's weights are kept), and scored exactly
on the test split. Epoch budgets keep each training run on the digits under 90 s on a 2-core
CPU. Every model takes its image shape and number of levels from the data, so the same
entries train on MNIST (`python -m gmlib.train`).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gmlib.autoregressive import (
    FVSBN,
    MADE,
    NADE,
    CausalTransformer,
    PixelCNN,
    RowLSTM,
    SequenceLSTM,
    WaveNet,
)
from gmlib.bench.core import BenchContext, BenchEntry, register
from gmlib.bench.quality import digit_quality


def _trained(make: Callable[[BenchContext], nn.Module], *, epochs: int, lr: float,
             weight_decay: float = 0.0, batch_size: int = 64,
             patience: int | None = None) -> Callable[[BenchContext], nn.Module]:
    """A bench `train` function: build the model for the data, fit it with early stopping."""
    def train(ctx: BenchContext) -> nn.Module:
        return ctx.fit(make(ctx), epochs=epochs, lr=lr, weight_decay=weight_decay,
                       batch_size=batch_size, patience=patience)
    return train


register(BenchEntry(
    name="fvsbn", family="autoregressive", track="binary",
    description="fully visible sigmoid belief network (logistic conditionals), raster order",
    train=_trained(lambda c: FVSBN(c.shape), epochs=60, lr=1e-2, weight_decay=1e-2),
    fast=True))
register(BenchEntry(
    name="nade", family="autoregressive", track="binary",
    description="NADE, 64 hidden units, raster order",
    train=_trained(lambda c: NADE(c.shape, hidden=64), epochs=80, lr=5e-3), fast=True))
register(BenchEntry(
    name="made", family="autoregressive", track="binary",
    description="MADE, one hidden layer of 256, one ordering (raster)",
    train=_trained(lambda c: MADE(c.shape, hidden_sizes=(256,)), epochs=60, lr=2e-3,
                   weight_decay=1e-2)))
register(BenchEntry(
    name="made-ensemble", family="autoregressive", track="binary",
    description="MADE trained order-agnostically over 8 orderings; test p(x) is the mean "
                "over the 8 orderings",
    train=_trained(lambda c: MADE(c.shape, hidden_sizes=(256,), n_masks=8), epochs=120, lr=2e-3,
                   weight_decay=1e-2)))
register(BenchEntry(
    name="pixelcnn", family="autoregressive", track="17-level",
    description="gated PixelCNN (no blind spot), 5 gated layers of 48 channels, dropout 0.3",
    train=_trained(lambda c: PixelCNN(c.shape, c.levels, channels=48, n_layers=4, dropout=0.3),
                   epochs=24, lr=3e-3, weight_decay=1e-2),
    quality=digit_quality))
register(BenchEntry(
    name="pixelcnn-plain", family="autoregressive", track="17-level",
    description="plain PixelCNN (masked convolutions A then B, with the blind spot), the "
                "gated entry's layers, channels and epochs (one stack, so fewer parameters)",
    train=_trained(lambda c: PixelCNN(c.shape, c.levels, channels=48, n_layers=4, dropout=0.3,
                                      gated=False), epochs=24, lr=3e-3, weight_decay=1e-2),
    quality=digit_quality))
def _wavenet(ctx: BenchContext) -> nn.Module:
    return WaveNet(ctx.shape, ctx.levels, channels=64, dropout=0.2)


register(BenchEntry(
    name="wavenet", family="autoregressive", track="17-level",
    description="WaveNet over the raster sequence: 6 dilated causal layers (receptive field "
                "64), 64 channels, dropout 0.2, position embedding",
    train=_trained(_wavenet, epochs=40, lr=3e-3, weight_decay=1e-2, patience=8),
    build=_wavenet, quality=digit_quality))
register(BenchEntry(
    name="lstm", family="autoregressive", track="17-level",
    description="LSTM over the raster sequence (128 units), position embedding",
    train=_trained(lambda c: SequenceLSTM(c.shape, c.levels, hidden=128), epochs=30, lr=3e-3,
                   weight_decay=1e-2),
    quality=digit_quality))
register(BenchEntry(
    name="pixelrnn", family="autoregressive", track="17-level",
    description="PixelRNN's Row LSTM: 2 layers of 64 units per column, 1x3 convolutions",
    train=_trained(lambda c: RowLSTM(c.shape, c.levels, hidden=64, n_layers=2), epochs=30,
                   lr=3e-3, weight_decay=1e-2),
    quality=digit_quality))
register(BenchEntry(
    name="transformer", family="autoregressive", track="17-level",
    description="causal transformer (GPT) over the raster sequence: 2 layers, width 64, "
                "4 heads, dropout 0.1",
    train=_trained(lambda c: CausalTransformer(c.shape, c.levels, width=64, n_layers=2,
                                               dropout=0.1),
                   epochs=45, lr=3e-3, weight_decay=1e-2, patience=8),
    quality=digit_quality))
