"""An LSTM reading the pixels one by one in raster order (the seed's RNN example [000]).

The LSTM reads the sequence x_0, ..., x_{D-2} (after a start vector) and its state after
reading x_<t gives the logits of x_t. The state summarises the whole past, so unlike a
convolution the model has no limited receptive field; the price is that training is
sequential in t. Generation keeps the state between steps (`method="cached"`): that is how
an RNN is sampled, one LSTM step per pixel. This is not the PixelRNN of van den Oord et al.,
whose Row LSTM (`gmlib.autoregressive.RowLSTM`) and Diagonal BiLSTM run over whole rows or
diagonals of the image; it is the plainest recurrent model of a pixel sequence.

References:
    van den Oord, Kalchbrenner, Kavukcuoglu (2016), Pixel Recurrent Neural Networks, ICML,
    https://arxiv.org/abs/1601.06759;
    Hochreiter, Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.validation import check_int

__all__ = ["SequenceLSTM"]


class SequenceLSTM(AutoregressiveModel):
    """An LSTM over the D values in raster order, categorical over K levels.

    Args:
        event_shape: the number of values D, or the shape of one observation.
        n_levels: K levels per value.
        hidden: LSTM state size.
        n_layers: stacked LSTM layers.

    Shapes:
        x: (B, *event_shape) -> log_prob (B,); conditional_logits: (B, D, K) -> (B, D, K)
    """

    def __init__(self, event_shape: int | Sequence[int], n_levels: int = 2, *,
                 hidden: int = 128, n_layers: int = 1) -> None:
        super().__init__(event_shape, n_levels)
        check_int(hidden, "hidden", 1)
        check_int(n_layers, "n_layers", 1)
        self.embed = nn.Linear(n_levels, hidden)
        # position embedding: where in the image step t is (the row ends are not in the data)
        self.position = nn.Parameter(torch.zeros(self.n_dims, hidden))
        self.lstm = nn.LSTM(hidden, hidden, n_layers, batch_first=True)
        self.head = nn.Linear(hidden, n_levels)

    def conditional_logits(self, h: Tensor) -> Tensor:
        shifted = F.pad(h, (0, 0, 1, 0))[:, :-1]  # (B, D, K): zero start, then x_0..x_{D-2}
        out, _ = self.lstm(self.embed(shifted) + self.position)
        return self.head(out)

    def _start_cache(self, n: int) -> tuple[int, None]:
        return n, None  # the LSTM state starts empty (zeros)

    def _cached_step(self, previous: Tensor | None, t: int,
                     state: tuple[int, Any]) -> tuple[Tensor, Any]:
        n, lstm_state = state
        if previous is None:  # the zero start vector
            previous = torch.zeros(n, 1, self.n_levels, dtype=self.dtype, device=self.device)
        out, lstm_state = self.lstm(self.embed(previous) + self.position[t], lstm_state)
        return self.head(out[:, 0]), (n, lstm_state)
