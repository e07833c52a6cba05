"""`VQVAE`: a convolutional encoder, a `VectorQuantizer` and a categorical decoder over grey
levels: every image becomes a small grid of discrete tokens.

The encoder maps an image (C, H, W) to a grid (d, H/f, W/f) of vectors (f = 2^n_down); each
vector is replaced by its nearest code; the decoder maps the grid of codes back to per-pixel
logits over the K grey levels. Training minimises, per image,

    -log p(x | z_q(x)) + codebook loss + beta * commitment loss,

the reconstruction term in nats on the discrete data, so `log_likelihood(x, tokens)` is a
proper log p(x | z) and the two-stage model of `gmlib.vq.two_stage` has a bound in nats.

References:
    van den Oord, Vinyals, Kavukcuoglu 2017, Neural discrete representation learning,
    https://arxiv.org/abs/1711.00937
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gmlib.base import check_condition
from gmlib.data.digits import levels_to_signed
from gmlib.validation import (
    Support,
    check_event_shape,
    check_int,
    check_nonnegative,
    check_support,
    check_tensor,
)
from gmlib.vq.quantizer import QuantizerOutput, VectorQuantizer

__all__ = ["VQVAE"]


def _encoder(channels: int, hidden: int, code_dim: int, n_down: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU()]
    for _ in range(n_down):
        layers += [nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU()]
    layers += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, code_dim, 1)]
    return nn.Sequential(*layers)


def _decoder(code_dim: int, hidden: int, out: int, n_down: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(code_dim, hidden, 3, padding=1), nn.ReLU()]
    for _ in range(n_down):
        layers += [nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU()]
    layers += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, out, 1)]
    return nn.Sequential(*layers)


class VQVAE(nn.Module):
    """Images on K grey levels <-> grids of tokens in 0..n_codes-1.

    Args:
        event_shape: (C, H, W), H and W divisible by 2^n_down.
        n_levels: K grey levels of the data.
        n_codes, code_dim: the codebook (see `VectorQuantizer`).
        n_down: stride-2 convolutions: the token grid is (H, W) / 2^n_down.
        hidden: channels of the encoder and decoder.
        beta: weight of the commitment loss (0.25 in van den Oord et al.).
        ema_decay, restart_after: of the quantizer (None: codebook loss, no restarts).

    Shapes:
        x: (B, C, H, W) in 0..K-1 -> tokens (B, N), N = (H / 2^n_down) * (W / 2^n_down);
        loss (B,); decoder_logits(tokens) -> (B, C, H, W, K)
    """

    def __init__(self, event_shape: Sequence[int], n_levels: int, *, n_codes: int = 64,
                 code_dim: int = 16, n_down: int = 1, hidden: int = 64, beta: float = 0.25,
                 ema_decay: float | None = 0.99, restart_after: float | None = 32.0) -> None:
        super().__init__()
        if len(event_shape) != 3:
            raise ValueError(f"event_shape must be (C, H, W); got {tuple(event_shape)}")
        self.event_shape = tuple(int(s) for s in event_shape)
        c, h, w = self.event_shape
        check_int(n_down, "n_down", 0)
        if h % 2 ** n_down or w % 2 ** n_down:
            raise ValueError(f"the image size {h}x{w} must be divisible by 2^n_down = "
                             f"{2 ** n_down}")
        self.n_levels = check_int(n_levels, "n_levels", 2)
        self.support = Support.levels(n_levels)
        self.beta = check_nonnegative(beta, "beta")
        self.token_grid = (h // 2 ** n_down, w // 2 ** n_down)
        self.encoder = _encoder(c, hidden, code_dim, n_down)
        self.quantizer = VectorQuantizer(n_codes, code_dim, ema_decay=ema_decay,
                                         restart_after=restart_after)
        self.decoder = _decoder(code_dim, hidden, c * n_levels, n_down)

    @property
    def n_codes(self) -> int:
        return self.quantizer.n_codes

    @property
    def n_tokens(self) -> int:
        """N, the tokens of one image."""
        return self.token_grid[0] * self.token_grid[1]

    def _validate(self, x: Tensor) -> Tensor:
        check_tensor(x, "x")
        check_event_shape(x, self.event_shape, "x")
        return check_support(x, self.support, "x")

    def encode_continuous(self, x: Tensor) -> Tensor:
        """z_e: the encoder's vectors before quantisation, (B, N, d)."""
        x = self._validate(x)
        dtype = self.quantizer.codebook.dtype
        z = self.encoder(levels_to_signed(x.to(dtype), self.n_levels))  # (B, d, h, w)
        return z.flatten(2).transpose(1, 2)

    def encode(self, x: Tensor) -> Tensor:
        """The tokens of each image, (B, N), in raster order over the token grid."""
        with torch.no_grad():
            return self.quantizer.quantize(self.encode_continuous(x))

    def _decode(self, z_q: Tensor) -> Tensor:
        c, h, w = self.event_shape
        grid = z_q.transpose(1, 2).reshape(len(z_q), -1, *self.token_grid)
        logits = self.decoder(grid).view(len(z_q), c, self.n_levels, h, w)
        return logits.permute(0, 1, 3, 4, 2)  # (B, C, H, W, K)

    def decoder_logits(self, tokens: Tensor) -> Tensor:
        """Per-pixel logits of p(x | tokens), (B, C, H, W, K)."""
        check_tensor(tokens, "tokens")
        if tokens.dim() != 2 or tokens.shape[1] != self.n_tokens:
            raise ValueError(f"tokens must have shape (B, {self.n_tokens}); got "
                             f"{tuple(tokens.shape)}")
        return self._decode(self.quantizer.lookup(tokens))

    def log_likelihood(self, x: Tensor, tokens: Tensor) -> Tensor:
        """log p(x | tokens) in nats, (B,): the categorical decoder's, summed over pixels."""
        x = self._validate(x)
        log_p = torch.log_softmax(self.decoder_logits(tokens), -1)
        return log_p.gather(-1, x.long().unsqueeze(-1)).squeeze(-1).flatten(1).sum(-1)

    def decode(self, tokens: Tensor, *, mode: bool = True,
               generator: torch.Generator | None = None) -> Tensor:
        """Images from tokens: each pixel's most likely level (`mode`), or a draw from
        p(x | tokens) (independent pixels, so speckled).

        Shapes:
            tokens: (B, N) -> (B, C, H, W)
        """
        with torch.no_grad():
            logits = self.decoder_logits(tokens)
            if mode:
                return logits.argmax(-1).to(logits.dtype)
            u = torch.rand(logits.shape[:-1], generator=generator).to(logits.device)
            cdf = torch.softmax(logits.double(), -1).cumsum(-1)
            return (cdf < u[..., None]).sum(-1).clamp(max=self.n_levels - 1).to(logits.dtype)

    def quantize(self, x: Tensor) -> tuple[Tensor, QuantizerOutput]:
        """Decoder logits of the quantised x and the quantizer's output (losses, indices)."""
        out = self.quantizer(self.encode_continuous(x))
        return self._decode(out.z_q), out

    def loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """-log p(x | z_q(x)) + codebook loss + beta * commitment loss, per image (B,)."""
        check_condition(self, c, conditional=False)
        logits, out = self.quantize(x)
        log_p = torch.log_softmax(logits, -1).gather(-1, x.long().unsqueeze(-1))
        reconstruction = -log_p.flatten(1).sum(-1)
        return reconstruction + out.codebook_loss + self.beta * out.commitment_loss
