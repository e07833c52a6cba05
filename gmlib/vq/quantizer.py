"""`VectorQuantizer`: a codebook, nearest-neighbour quantisation and the straight-through
gradient of VQ-VAE, with its two losses or EMA codebook updates, usage and dead-code restarts.

An encoder output z_e (a d-vector per position) is replaced by its nearest code e_k of a
codebook of K vectors. The arg-min has no gradient, so the decoder's gradient with respect to
z_q = e_k is copied to z_e (the straight-through estimator, Bengio et al. 2013): in code
z_q = z_e + (e_k - z_e).detach(). The codes then learn from one of two signals:

* the codebook loss ||sg[z_e] - e_k||^2 (codes move towards the outputs they quantise), or
* exponential moving averages (van den Oord et al. 2017, appendix; Razavi et al. 2019): each
  code becomes the running mean of the encoder outputs assigned to it, a k-means step per
  batch, which is faster and steadier than the loss;

and the commitment loss beta ||z_e - sg[e_k]||^2 keeps the encoder outputs near their codes.
A code that no output picks any more (a *dead code*) gets no signal from either; restarting
it at a random recent encoder output puts it back where the data are (Dhariwal et al. 2020;
Zeghidour et al. 2021). The *perplexity* exp(H(usage)) counts the codes in effective use.

References:
    van den Oord, Vinyals, Kavukcuoglu 2017, Neural discrete representation learning,
    https://arxiv.org/abs/1711.00937
    Razavi, van den Oord, Vinyals 2019, Generating diverse high-fidelity images with VQ-VAE-2,
    https://arxiv.org/abs/1906.00446
    Bengio, Leonard, Courville 2013, Estimating or propagating gradients through stochastic
    neurons, https://arxiv.org/abs/1308.3432
    Dhariwal et al. 2020, Jukebox: a generative model for music, https://arxiv.org/abs/2005.00341
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gmlib.validation import check_int, check_nonnegative, check_tensor

__all__ = ["USAGE_DECAY", "QuantizerOutput", "VectorQuantizer", "perplexity"]

# decay of the running share of assignments per code (`usage`), which restarts read
USAGE_DECAY = 0.99


@dataclass
class QuantizerOutput:
    """What quantising a batch gives.

    Attributes:
        z_q: (B, N, d) the codes, with the straight-through gradient to z_e.
        indices: (B, N) the chosen code of every position.
        codebook_loss: (B,) sum over positions of ||sg[z_e] - e||^2 (zero with EMA updates).
        commitment_loss: (B,) sum over positions of ||z_e - sg[e]||^2 (not yet times beta).
    """

    z_q: Tensor
    indices: Tensor
    codebook_loss: Tensor
    commitment_loss: Tensor


def perplexity(indices: Tensor, n_codes: int) -> float:
    """exp(entropy) of how often each code is used: 1 when one code does everything, K when
    all K are used equally often."""
    check_tensor(indices, "indices")
    check_int(n_codes, "n_codes", 1)
    if indices.numel() == 0 or indices.is_floating_point() or indices.min() < 0 \
            or indices.max() >= n_codes:
        raise ValueError(f"indices must be a non-empty tensor of integers in "
                         f"0..{n_codes - 1}")
    counts = torch.bincount(indices.flatten().long(), minlength=n_codes).double()
    p = counts / counts.sum()
    return float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))


class VectorQuantizer(nn.Module):
    """A codebook of K vectors of dimension d.

    Args:
        n_codes: K.
        code_dim: d.
        ema_decay: update the codes by exponential moving averages with this decay (e.g.
            0.99); None learns them by the codebook loss instead.
        restart_after: in training mode, a code whose running share of the assignments
            (averaged with decay `USAGE_DECAY`) falls below 1 / (restart_after * K) is moved
            to a random encoder output of the batch; None never restarts.

    Shapes:
        z_e: (B, N, d) -> QuantizerOutput with z_q (B, N, d) and indices (B, N)
    """

    def __init__(self, n_codes: int, code_dim: int, *, ema_decay: float | None = 0.99,
                 restart_after: float | None = 32.0) -> None:
        super().__init__()
        self.n_codes = check_int(n_codes, "n_codes", 2)
        self.code_dim = check_int(code_dim, "code_dim", 1)
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None; got {ema_decay!r}")
        if restart_after is not None and check_nonnegative(restart_after, "restart_after") <= 0:
            raise ValueError(f"restart_after must be positive or None; got {restart_after!r}")
        self.ema_decay, self.restart_after = ema_decay, restart_after
        self.codebook = nn.Parameter(torch.randn(n_codes, code_dim),
                                     requires_grad=ema_decay is None)
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_sum", self.codebook.detach().clone())
        self.register_buffer("usage", torch.full((n_codes,), 1.0 / n_codes))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))

    def quantize(self, z_e: Tensor) -> Tensor:
        """The index of the nearest code of every vector (squared Euclidean distance).

        Shapes:
            z_e: (..., d) -> (...)
        """
        check_tensor(z_e, "z_e")
        if z_e.shape[-1] != self.code_dim:
            raise ValueError(f"z_e must end with the code dimension {self.code_dim}; got "
                             f"shape {tuple(z_e.shape)}")
        flat = z_e.reshape(-1, self.code_dim).to(self.codebook.dtype)
        distances = (flat.pow(2).sum(-1, keepdim=True) - 2 * flat @ self.codebook.T
                     + self.codebook.pow(2).sum(-1))
        return distances.argmin(-1).view(z_e.shape[:-1])

    def lookup(self, indices: Tensor) -> Tensor:
        """The codes of given indices.

        Shapes:
            indices: (...) in 0..K-1 -> (..., d)
        """
        check_tensor(indices, "indices")
        if indices.is_floating_point() or indices.min() < 0 or indices.max() >= self.n_codes:
            raise ValueError(f"indices must be integers in 0..{self.n_codes - 1}")
        return self.codebook[indices.long()]

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        indices = self.quantize(z_e)
        codes = self.codebook[indices]
        if self.training:
            self._update(z_e.detach(), indices)
            codes = self.codebook[indices]  # the updated codes
        commitment = (z_e - codes.detach()).pow(2).flatten(1).sum(-1)
        if self.ema_decay is None:
            codebook = (z_e.detach() - codes).pow(2).flatten(1).sum(-1)
        else:
            codebook = torch.zeros_like(commitment)
        z_q = z_e + (codes - z_e).detach()  # straight through: the gradient skips the arg-min
        return QuantizerOutput(z_q, indices, codebook, commitment)

    @torch.no_grad()
    def _update(self, z_e: Tensor, indices: Tensor) -> None:
        flat = z_e.reshape(-1, self.code_dim).to(self.codebook.dtype)
        one_hot = torch.nn.functional.one_hot(indices.flatten(), self.n_codes).to(flat.dtype)
        counts = one_hot.sum(0)
        # the usage that triggers restarts is averaged the same way under either update
        # rule, so the two rules differ in how codes move and in nothing else
        self.usage.mul_(USAGE_DECAY).add_((1 - USAGE_DECAY) * counts / counts.sum())
        if self.ema_decay is not None:
            decay = self.ema_decay
            self.ema_count.mul_(decay).add_((1 - decay) * counts)
            self.ema_sum.mul_(decay).add_((1 - decay) * one_hot.T @ flat)
            # Laplace smoothing keeps a rarely used code's count away from zero; a code that
            # stays unused for long (decay^t below ~1e-5) then slides towards the origin
            total = self.ema_count.sum()
            smoothed = (self.ema_count + 1e-5) / (total + self.n_codes * 1e-5) * total
            self.codebook.data.copy_(self.ema_sum / smoothed[:, None])
        if self.restart_after is not None:
            self._restart_dead(flat)

    def _restart_dead(self, flat: Tensor) -> None:
        dead = self.usage < 1.0 / (self.restart_after * self.n_codes)
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        picks = torch.randint(len(flat), (n_dead,), device=flat.device)
        self.codebook.data[dead] = flat[picks]
        self.ema_sum[dead] = flat[picks]
        self.ema_count[dead] = 1.0
        self.usage[dead] = 1.0 / self.n_codes
        self.restarts += n_dead
