"""Fingerprints and checksums that let streams and checkpoints detect misuse.

* `state_digest(state)`: SHA-256 of a state dict's names, dtypes, shapes and bytes, the
  content hash a checkpoint carries and checks on load;
* `model_fingerprint(model)`: 16 bytes of SHA-256 over the model's class, event shape,
  support and state, which a compressed stream records so that decoding with another model
  (another class, configuration or weights) is refused instead of returning garbage;
* `payload_checksum(data)`: CRC-32 of a payload; any flipped bit changes it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping

import torch
from torch import Tensor, nn

__all__ = ["FINGERPRINT_BYTES", "model_fingerprint", "payload_checksum", "state_digest"]

FINGERPRINT_BYTES = 16


def _update(digest: hashlib._Hash, state: Mapping[str, Tensor]) -> None:
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, Tensor):  # e.g. extra state; hash its text form
            digest.update(f"{name}={tensor!r};".encode())
            continue
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())


def state_digest(state: Mapping[str, Tensor]) -> str:
    """Hex SHA-256 of a state dict (names, dtypes, shapes and values, in name order)."""
    digest = hashlib.sha256()
    _update(digest, state)
    return digest.hexdigest()


def model_fingerprint(model: nn.Module) -> bytes:
    """`FINGERPRINT_BYTES` bytes identifying a model's class, configuration and weights."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    # mask_index: a MADE's current mask is an attribute, not state, but changes its outputs
    for attribute in ("event_shape", "support", "n_levels", "order", "mask_index"):
        value = getattr(model, attribute, None)
        if isinstance(value, Tensor):
            value = value.tolist()
        digest.update(f"{attribute}={value!r};".encode())
    _update(digest, model.state_dict())
    return digest.digest()[:FINGERPRINT_BYTES]


def payload_checksum(data: bytes) -> int:
    """CRC-32 of `data` (an unsigned 32-bit int)."""
    return zlib.crc32(data) & 0xFFFFFFFF
