"""Bits-back coding with a latent-variable model (Frey and Hinton 1997; Townsend et al. 2019).

A latent-variable model p(x) = sum_z p(z) p(x | z) could be coded as the pair (z, x):
-log2 p(z) - log2 p(x | z) bits, more than -log2 p(x) because the choice of z carries
information the receiver does not need. Bits-back gets it back. With an ANS stack
(`gmlib.coding.ans`), the sender codes each x by

1. *popping* z from the stack with q(z | x): this reads -log2 q(z | x) bits that were
   already there (earlier messages, or the initial random bits);
2. pushing x with p(x | z), then z with p(z).

The net change is -log2 p(x | z) - log2 p(z) + log2 q(z | x) bits, whose mean over
z ~ q is the negative ELBO; with the exact posterior q(z | x) = p(z | x) it is -log2 p(x)
for every z. The receiver runs the steps backwards: pop z with p(z), pop x with p(x | z),
and push z back with q(z | x), which it can compute now that it has x, restoring the bits
the sender borrowed. Images come back in reverse order (a stack).

Two models are supported:

* `BernoulliMixture` (lecture 03): binary pixels, a discrete latent, the exact posterior.
* `VAE` with a N(0, I) prior, a diagonal Gaussian encoder and a Bernoulli or categorical
  decoder (lecture 07): BB-ANS proper (Townsend et al. 2019). Each latent coordinate is
  discretised into 2^latent_bits buckets of equal prior mass, so p(z) costs exactly
  latent_bits per coordinate; q(z_j | x) is its Gaussian's mass on each bucket, and p(x | z)
  is evaluated at the buckets' centres. The discretisation costs a little over the
  continuous -ELBO, less the finer the buckets.

Encoder and decoder compute every table one example at a time, from identical inputs, so
they compute identical floats on one machine; decoding on another machine (other BLAS,
other device) may differ in a table entry and corrupt the stream, which the final check
of the initial bits then reports.

Format (version 3): the final ANS state in `gmlib.coding.envelope` (magic b"GMBB"), whose
fields are the model kind, N, D, the initial bits, the latent bits and the table bits, and
which records the model's fingerprint and a CRC-32: another model, other bits or a
corrupted stream are refused with what differs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from torch import Tensor

from gmlib.coding.ans import ANSStack
from gmlib.coding.envelope import open_envelope, seal
from gmlib.coding.tables import probabilities_to_cdf
from gmlib.exceptions import IntegrityError
from gmlib.mixtures import BernoulliMixture
from gmlib.vae import VAE
from gmlib.vae.decoders import BernoulliDecoder, CategoricalDecoder
from gmlib.vae.encoders import GaussianEncoder
from gmlib.vae.priors import StandardNormalPrior
from gmlib.validation import Support, check_int, check_support, check_tensor

__all__ = ["MAGIC", "VERSION", "bits_back_compress", "bits_back_decompress", "latent_buckets"]

MAGIC = b"GMBB"
VERSION = 3
_KINDS = {BernoulliMixture: 0, VAE: 1}
Table = list[int]


class _MixtureCode:
    """Tables of a Bernoulli mixture: one latent symbol (the component), binary pixels."""

    def __init__(self, model: BernoulliMixture, bits: int) -> None:
        model._check_fitted()
        self.model, self.bits, self.dim = model, bits, model.means_.shape[1]
        self.prior = [probabilities_to_cdf(model.weights_, bits).tolist()]
        on = model.means_.double()
        self.pixels = probabilities_to_cdf(torch.stack([1 - on, on], -1), bits).tolist()
        self.support = Support.binary()

    def prepare(self, x: Tensor) -> Tensor:
        return x.to(self.model.means_.device, self.model.means_.dtype)

    def posterior(self, x_row: Tensor) -> list[Table]:
        proba = self.model.predict_proba(x_row[None])[0]
        return [probabilities_to_cdf(proba, self.bits).tolist()]

    def likelihood(self, z: Sequence[int]) -> list[Table]:
        return self.pixels[z[0]]

    def empty(self, n: int) -> Tensor:
        return torch.zeros(n, self.dim, dtype=self.model.means_.dtype,
                           device=self.model.means_.device)


def _check_range(value: object, name: str, low: int, high: int) -> int:
    value = check_int(value, name, low)
    if value > high:
        raise ValueError(f"{name} must be an int in {low}..{high}; got {value}")
    return value


def latent_buckets(latent_bits: int) -> tuple[Tensor, Tensor]:
    """Edges (2^b + 1,) and centres (2^b,) of the buckets of equal N(0, 1) mass, float64.

    Bucket i spans the standard normal's quantiles i / 2^b .. (i + 1) / 2^b (the outer edges
    are -inf and +inf); its centre is the quantile (i + 1/2) / 2^b.
    """
    n = 2 ** _check_range(latent_bits, "latent_bits", 1, 16)
    grid = torch.arange(n + 1, dtype=torch.float64) / n
    edges = torch.special.ndtri(grid)  # ndtri(0) = -inf, ndtri(1) = +inf
    centres = torch.special.ndtri((torch.arange(n, dtype=torch.float64) + 0.5) / n)
    return edges, centres


class _VAECode:
    """Tables of a VAE: latent_dim symbols of latent_bits each, then the pixels."""

    def __init__(self, model: VAE, bits: int, latent_bits: int) -> None:
        if not isinstance(model.prior, StandardNormalPrior) or not isinstance(
                model.encoder, GaussianEncoder):
            raise TypeError("bits-back coding of a VAE needs the N(0, I) prior and a Gaussian "
                            "encoder (build_vae's defaults); got a "
                            f"{type(model.prior).__name__} prior and a "
                            f"{type(model.encoder).__name__}")
        if not isinstance(model.decoder, BernoulliDecoder | CategoricalDecoder):
            raise TypeError("bits-back coding of a VAE needs discrete pixels (a Bernoulli or "
                            f"categorical decoder); got a {type(model.decoder).__name__}")
        self.model, self.bits = model.eval(), bits
        self.edges, self.centres = latent_buckets(latent_bits)
        uniform = list(range(0, 2 ** latent_bits + 1))  # equal prior mass: exactly b bits
        self.prior = [uniform] * model.latent_dim
        self.event_shape = model.decoder.event_shape
        self.dim = model.decoder.n_values
        self.support = model.decoder.support
        self.device = next(model.parameters()).device

    def prepare(self, x: Tensor) -> Tensor:
        return x.reshape(len(x), *self.event_shape).to(self.device, torch.float32)

    @torch.no_grad()
    def posterior(self, x_row: Tensor) -> list[Table]:
        q = self.model.encode(x_row[None])
        mean, std = q.mean[0].double().cpu(), q.stddev[0].double().cpu()
        cdf = torch.special.ndtr((self.edges[None, :] - mean[:, None]) / std[:, None])
        mass = (cdf[:, 1:] - cdf[:, :-1]).clamp_min(0)  # (latent_dim, 2^b)
        return probabilities_to_cdf(mass / mass.sum(1, keepdim=True), self.bits).tolist()

    @torch.no_grad()
    def likelihood(self, z: Sequence[int]) -> list[Table]:
        centres = self.centres[list(z)].to(self.device, torch.float32)[None]
        p = self.model.decode(centres).base_dist
        probs = p.probs.double().reshape(self.dim, -1) if isinstance(
            self.model.decoder, CategoricalDecoder) else p.probs.double().reshape(self.dim, 1)
        if probs.shape[1] == 1:  # Bernoulli: P(1) -> (P(0), P(1))
            probs = torch.cat([1 - probs, probs], 1)
        return probabilities_to_cdf(probs.cpu(), self.bits).tolist()

    def empty(self, n: int) -> Tensor:
        return torch.zeros(n, *self.event_shape, device=self.device)


def _code(model: object, bits: int, latent_bits: int) -> _MixtureCode | _VAECode:
    if isinstance(model, BernoulliMixture):
        return _MixtureCode(model, bits)
    if isinstance(model, VAE):
        return _VAECode(model, bits, latent_bits)
    raise TypeError("bits-back coding is implemented for a fitted BernoulliMixture and for a "
                    f"VAE with discrete pixels; got {type(model).__name__}")


def _kind(model: object) -> int:
    return next(k for cls, k in _KINDS.items() if isinstance(model, cls))


def bits_back_compress(model: BernoulliMixture | VAE, x: Tensor, *, bits: int = 16,
                       latent_bits: int = 8, initial_bits: int = 64, seed: int = 0) -> bytes:
    """Code discrete data x with bits-back coding under a latent-variable model.

    Args:
        model: a fitted `BernoulliMixture` on binary vectors (N, D), or a `VAE` (N(0, I)
            prior, Gaussian encoder, Bernoulli or categorical decoder) on its event shape.
        x: the data, (N, D) or (N, *event_shape), with the model's support.
        bits: precision of the frequency tables (totals 2^bits).
        latent_bits: a VAE's latent coordinates are discretised into 2^latent_bits buckets.
        initial_bits: random bits the stack starts with; the first example's latent is read
            from them. They are part of the output and come back out of the decoder, so the
            *net* cost is 8 * len(data) - initial_bits - header bits.
        seed: seed of those initial bits.

    Returns:
        the header and the final ANS state, as bytes.
    """
    code = _code(model, _check_range(bits, "bits", 8, 32), latent_bits)
    check_tensor(x, "x")
    if x.dim() < 2 or x[0].numel() != code.dim:
        raise ValueError(f"x must hold examples of {code.dim} values each, (N, {code.dim}) or "
                         f"(N, *event_shape); got shape {tuple(x.shape)}")
    check_support(x, code.support, "x")
    initial_bits = check_int(initial_bits, "initial_bits", 1)
    x = code.prepare(x)
    # the top bit is set so that the decoder knows how many initial bits to expect
    stack = ANSStack(random.Random(seed).getrandbits(initial_bits) | 1 << (initial_bits - 1))
    symbols = x.reshape(len(x), -1).long().cpu()
    for row in range(len(x)):
        z = [stack.pop(table) for table in code.posterior(x[row])]
        for value, table in zip(symbols[row].tolist(), code.likelihood(z), strict=True):
            stack.push(value, table)
        for symbol, table in zip(z, code.prior, strict=True):
            stack.push(symbol, table)
    fields = {"kind": _kind(model), "n": len(x), "n_dims": code.dim,
              "initial_bits": initial_bits, "latent_bits": latent_bits, "bits": bits}
    return seal(MAGIC, VERSION, model, fields, stack.to_bytes())


def bits_back_decompress(model: BernoulliMixture | VAE, data: bytes, *,
                         bits: int = 16) -> tuple[Tensor, int]:
    """Invert `bits_back_compress`: returns x, (N, D) for a mixture or (N, *event_shape) for
    a VAE, and the initial state, which must come out exactly (a check that every borrowed
    bit was given back)."""
    _code(model, _check_range(bits, "bits", 8, 32), 1)  # refuses a model it cannot code
    fields, payload = open_envelope(
        data, MAGIC, VERSION, model,
        {"kind": _kind(model), "n": None, "n_dims": None, "initial_bits": None,
         "latent_bits": None, "bits": bits}, what="bits_back_compress")
    n, d, initial_bits = fields["n"], fields["n_dims"], fields["initial_bits"]
    code = _code(model, bits, max(fields["latent_bits"], 1))
    if d != code.dim:
        raise IntegrityError(f"the stream holds {d}-dimensional examples; the model has "
                             f"{code.dim}")
    stack = ANSStack.from_bytes(payload)
    x = code.empty(n)
    flat = x.view(n, -1)
    for row in reversed(range(n)):
        z = [stack.pop(table) for table in reversed(code.prior)][::-1]
        for dim, table in reversed(list(enumerate(code.likelihood(z)))):
            flat[row, dim] = stack.pop(table)
        for symbol, table in reversed(list(zip(z, code.posterior(x[row]), strict=True))):
            stack.push(symbol, table)
    if stack.n_bits != initial_bits:
        raise ValueError("the stream is corrupt or was coded with another model: the initial "
                         f"{initial_bits} bits did not come back")
    return x, stack.state
