"""`compress(model, x)` / `decompress(model, data)`: lossless compression driven by a model.

The adapter asks the model for the distribution of each variable given the variables
before it, quantises it to an integer table (`gmlib.coding.tables`) and hands the value to
the arithmetic coder. Two kinds of model qualify: autoregressive models (their conditionals
follow their `order`) and independent per-pixel models (the baseline). The decoder repeats
exactly the same network passes on exactly the same partial inputs, so both sides build
bit-identical tables; that is why the encoder also fills the variables in one at a time
instead of reading all conditionals from one pass over the finished image. Models with a
cached sampler (NADE, MADE, WaveNet, SequenceLSTM, the transformer) take one cheap cached step
per variable, in the model's order, on both sides instead of a full network pass.

Format (version 2): the coder's payload in `gmlib.coding.envelope` (magic b"GMLZ"), whose
fields are the number of examples N, D, the levels K, the table bits and a CRC-32 of the
condition (0 for none), and which records the model's fingerprint and a CRC-32 of the
stream, so decoding with another model, other bits, another condition or a corrupted
stream is refused with what differs. Variables are coded dimension-major
(variable 1 of every example, then variable 2, ...) so the decoder fills all examples in
parallel.
"""

from __future__ import annotations

from collections.abc import Generator

import torch
from torch import Tensor, nn

from gmlib.autoregressive.base import AutoregressiveModel
from gmlib.coding.arithmetic import ArithmeticDecoder, ArithmeticEncoder
from gmlib.coding.envelope import open_envelope, seal
from gmlib.coding.tables import probabilities_to_cdf
from gmlib.independent import IndependentCategorical
from gmlib.integrity import payload_checksum

__all__ = ["MAGIC", "VERSION", "compress", "decompress"]

MAGIC = b"GMLZ"
VERSION = 2


def _check_model(model: nn.Module) -> tuple[int, int]:
    """(D, K) of a model the compressor can drive, or TypeError saying which can."""
    if isinstance(model, AutoregressiveModel):
        return model.n_dims, model.n_levels
    if isinstance(model, IndependentCategorical):
        return int(torch.tensor(model.event_shape).prod()), model.n_levels
    raise TypeError("compress needs each variable's distribution given the previous ones: "
                    "an AutoregressiveModel or an IndependentCategorical model; got "
                    f"{type(model).__name__}")


def _conditionals(model: nn.Module, x: Tensor | None, n: int, bits: int,
                  c: Tensor | None = None) -> Generator[tuple[int, Tensor], Tensor, None]:
    """Yield (variable index, (n, K + 1) tables) in coding order.

    With `x`, the encoder's view: before variable i is coded, the partial input holds the
    variables coded so far. Without it, the decoder's: the caller fills `partial` (sent back
    through the generator) after each variable.
    """
    if isinstance(model, IndependentCategorical):
        tables = probabilities_to_cdf(model.probs.reshape(-1, model.n_levels), bits)
        for i in range(len(tables)):
            yield i, tables[i].expand(n, -1)
        return
    # the model's own walk over its conditionals (the sampler's cache where it has one: a
    # running sum, hidden units, queues, keys/values, an RNN state), on both sides alike
    options = {} if c is None else {"c": c}
    steps = model.conditionals(n, **options)
    i, logits = next(steps)
    while True:
        value = yield i, probabilities_to_cdf(_probabilities(logits), bits)
        try:
            i, logits = steps.send(x[:, i] if x is not None else value)
        except StopIteration:
            return


def _probabilities(logits: Tensor) -> Tensor:
    """(n, K) probabilities from (n,) Bernoulli logits or (n, K) categorical logits."""
    if logits.dim() == 1:
        p = torch.sigmoid(logits.double())
        return torch.stack([1 - p, p], dim=-1)
    return torch.softmax(logits.double(), dim=-1)


@torch.no_grad()
def compress(model: nn.Module, x: Tensor, *, c: Tensor | None = None, bits: int = 16) -> bytes:
    """Code the examples `x` (values 0..K-1) losslessly with the model's probabilities.

    The payload costs about -log2 p(x) bits per example (the model's NLL in bits), plus
    2 bits and a byte of padding for the whole batch and the quantisation of p to `bits`.
    A conditional model (`ConditionalPixelCNN`) codes p(x | c): pass its condition `c`,
    and the same `c` to `decompress` (the stream records a checksum of it).

    Shapes:
        x: (N, *event_shape) -> bytes

    Examples:
        >>> import torch
        >>> from gmlib.data import digits
        >>> from gmlib.independent import IndependentCategorical
        >>> model = IndependentCategorical((1, 8, 8), 17).fit(digits("train"))
        >>> x = digits("test")[:20]
        >>> data = compress(model, x)
        >>> torch.equal(decompress(model, data), x)
        True
    """
    n_dims, n_levels = _check_model(model)
    model.eval()
    x = model.validate_input(x)
    x = x.reshape(len(x), n_dims)
    x = x.to(model.device) if isinstance(model, AutoregressiveModel) else x
    model.check_condition(c)
    encoder = ArithmeticEncoder()
    steps = _conditionals(model, x, len(x), bits, c)
    for i, tables in steps:
        symbols = x[:, i].long().tolist()
        for symbol, table in zip(symbols, tables.tolist(), strict=True):
            encoder.encode(symbol, table)
    fields = {"n": len(x), "n_dims": n_dims, "n_levels": n_levels, "bits": bits,
              "condition_crc": _condition_crc(c)}
    return seal(MAGIC, VERSION, model, fields, encoder.finish())


def _condition_crc(c: Tensor | None) -> int:
    """CRC-32 of a condition's values (0 for none), so decoding with another c is refused."""
    if c is None:
        return 0
    flat = c.detach().to("cpu", torch.float64).contiguous().reshape(-1)
    return payload_checksum(flat.numpy().tobytes()) | 1


@torch.no_grad()
def decompress(model: nn.Module, data: bytes, *, c: Tensor | None = None,
               bits: int = 16) -> Tensor:
    """Invert `compress` with the same model (and `bits`, and condition `c`).

    Shapes:
        returns (N, *event_shape) float values 0..K-1
    """
    n_dims, n_levels = _check_model(model)
    model.eval()
    fields, payload = open_envelope(
        data, MAGIC, VERSION, model,
        {"n": None, "n_dims": n_dims, "n_levels": n_levels, "bits": bits,
         "condition_crc": _condition_crc(c)}, what="compress")
    n = fields["n"]
    decoder = ArithmeticDecoder(payload)
    out = torch.zeros(n, n_dims)
    steps = _conditionals(model, None, n, bits, c)
    step = next(steps, None)
    while step is not None:
        i, tables = step
        values = torch.tensor([decoder.decode(t) for t in tables.tolist()], dtype=torch.float32)
        out[:, i] = values
        try:
            step = steps.send(values.to(model.device))
        except StopIteration:
            step = None
    return out.reshape(n, *model.event_shape)
