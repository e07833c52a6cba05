"""PixelRNN in its simplest form: an LSTM reading the pixels one by one (the seed's RNN).

The LSTM reads the sequence x_0, ..., x_{D-2} (after a start vector) and its state after
reading x_<t gives the logits of x_t. The state summarises the whole past, so unlike a
convolution the model has no limited receptive field; the price is that training is
sequential in t. Generation keeps the state between steps (`method="cached"`): that is how
an RNN is sampled, one LSTM step per pixel. The paper's Row LSTM and Diagonal BiLSTM process
whole rows at once; this sequence LSTM is the seed's "RNN" example [000].

References:
    van den Oord, Kalchbrenner, Kavukcuoglu (2016), Pixel Recurrent Neural Networks, ICML,
    https://arxiv.org/abs/1601.06759;
    Hochreiter, Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel, draw_categorical
from gmlib.validation import check_int

__all__ = ["PixelRNN"]


class PixelRNN(AutoregressiveModel):
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

    def _sample_cached(self, uniforms: Tensor) -> Tensor:
        n = uniforms.shape[1]
        x = torch.zeros(n, self.n_dims, dtype=self.dtype, device=self.device)
        previous = torch.zeros(n, 1, self.n_levels, dtype=self.dtype, device=self.device)
        state = None
        for t in range(self.n_dims):
            out, state = self.lstm(self.embed(previous) + self.position[t], state)
            x[:, t] = draw_categorical(self.head(out[:, 0]), uniforms[t])
            previous = F.one_hot(x[:, t].long(), self.n_levels).to(self.dtype)[:, None]
        return x
