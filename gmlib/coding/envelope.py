"""The envelope every gmlib stream travels in, so a decoder refuses what it cannot decode.

Layout (little-endian): magic (4 bytes), format version (1), the length of the model's
class name (1) and the name, the model's fingerprint (16 bytes, `gmlib.integrity`), the
number of integer fields (1) and each as 8 bytes (e.g. N, D, the levels, the table bits),
the payload's length (4), the payload, then a CRC-32 (4) of everything before it.

`open_envelope` checks, in this order, and names what differs: the magic and the version
(another kind of stream, or another gmlib), the checksum (a corrupted or truncated
stream), the model's class, the fields the caller expects (shape, levels, bits), and the
fingerprint (the same class and configuration with other weights).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from torch import nn

from gmlib.exceptions import IntegrityError
from gmlib.integrity import FINGERPRINT_BYTES, model_fingerprint, payload_checksum

__all__ = ["envelope_bytes", "open_envelope", "seal"]

_START = struct.Struct("<4sBB")
_FIELD = struct.Struct("<Q")
_TAIL = struct.Struct("<I")


def seal(magic: bytes, version: int, model: nn.Module, fields: Mapping[str, int],
         payload: bytes) -> bytes:
    """Wrap `payload` with what a decoder needs to check it (see the module docstring)."""
    name = type(model).__name__.encode()[:255]
    head = _START.pack(magic, version, len(name)) + name + model_fingerprint(model)
    head += bytes([len(fields)]) + b"".join(_FIELD.pack(int(v)) for v in fields.values())
    body = head + _TAIL.pack(len(payload)) + payload
    return body + _TAIL.pack(payload_checksum(body))


def open_envelope(data: object, magic: bytes, version: int, model: nn.Module,
                  expected: Mapping[str, int | None], *, what: str) -> tuple[dict[str, int], bytes]:
    """Check a sealed stream against `model` and the `expected` fields (None: any value);
    return its fields (in `expected`'s order) and payload.

    Raises:
        IntegrityError: another kind of stream or version, a corrupted stream, another
            model, or a field that differs from `expected` (the message names it).
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data must be the bytes {what} returned; got {type(data).__name__}")
    data = bytes(data)
    if data[:4] != magic[:len(data)] or not data:
        raise IntegrityError(f"data is not a {what} stream (it does not start with {magic!r})")
    if len(data) < _START.size + _TAIL.size:
        raise IntegrityError(f"the stream is truncated: {len(data)} bytes")
    got_version = data[4]
    if got_version != version:
        raise IntegrityError(f"the stream has format version {got_version}; this gmlib reads "
                             f"version {version} (compress it again with this gmlib)")
    if len(data) < _TAIL.size or payload_checksum(data[:-_TAIL.size]) != _TAIL.unpack(
            data[-_TAIL.size:])[0]:
        raise IntegrityError("the stream fails its CRC-32 checksum: it was corrupted or "
                             "truncated after it was written")
    offset = _START.size
    name = data[offset:offset + data[5]].decode(errors="replace")
    offset += data[5]
    fingerprint = data[offset:offset + FINGERPRINT_BYTES]
    offset += FINGERPRINT_BYTES
    n_fields = data[offset]
    offset += 1
    values = [_FIELD.unpack_from(data, offset + i * _FIELD.size)[0] for i in range(n_fields)]
    offset += n_fields * _FIELD.size
    (length,) = _TAIL.unpack_from(data, offset)
    payload = data[offset + _TAIL.size:-_TAIL.size]
    if name != type(model).__name__:
        raise IntegrityError(f"the stream was coded with a {name}; got a "
                             f"{type(model).__name__} to decode it")
    if n_fields != len(expected) or len(payload) != length:
        raise IntegrityError(f"the stream's layout does not match {what}'s ({n_fields} "
                             f"fields, {len(payload)} of {length} payload bytes)")
    fields = dict(zip(expected, values, strict=True))
    for key, want in expected.items():
        if want is not None and fields[key] != want:
            raise IntegrityError(f"the stream was coded with {key}={fields[key]}; the decoder "
                                 f"has {key}={want}")
    if fingerprint != model_fingerprint(model):
        raise IntegrityError(f"the stream was coded by another {name}: same class, but its "
                             "fingerprint (configuration and weights) differs from this "
                             "model's; decode with the model that compressed it")
    return fields, payload


def envelope_bytes(data: bytes) -> int:
    """How many bytes of a sealed stream are the envelope (everything but the payload): the
    fixed cost to subtract when measuring a coder's rate."""
    offset = _START.size + data[5] + FINGERPRINT_BYTES
    offset += 1 + data[offset] * _FIELD.size
    (length,) = _TAIL.unpack_from(data, offset)
    return len(data) - length
