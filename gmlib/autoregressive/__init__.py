"""Autoregressive models: p(x) as a product of conditionals, one model a file (lectures 05-06).

Discrete models (`AutoregressiveModel` subclasses) score a batch in one network pass and
sample one variable at a time; `NADE`, `MADE`, `CausalTransformer`, `WaveNet` and
`SequenceLSTM` also have a cached sampler that does each step with a small part of a pass.
`RowLSTM` is PixelRNN's Row LSTM. `RNADE` models real-valued data. `ConditionalPixelCNN`
models p(x | y) for an image-shaped control signal y (labels, a low-resolution image, a mask;
lecture 13).
"""

from __future__ import annotations

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.autoregressive.conditional import ConditionalPixelCNN
from gmlib.autoregressive.fvsbn import FVSBN
from gmlib.autoregressive.made import MADE
from gmlib.autoregressive.nade import NADE
from gmlib.autoregressive.pixelcnn import PixelCNN
from gmlib.autoregressive.rnade import RNADE
from gmlib.autoregressive.rowlstm import RowLSTM
from gmlib.autoregressive.sequence_lstm import SequenceLSTM
from gmlib.autoregressive.transformer import CausalTransformer
from gmlib.autoregressive.wavenet import WaveNet, receptive_field

__all__ = ["FVSBN", "MADE", "NADE", "RNADE", "AutoregressiveModel", "CausalTransformer",
           "ConditionalPixelCNN", "PixelCNN", "RowLSTM", "SequenceLSTM", "WaveNet",
           "receptive_field"]
