"""A hash that is identical in every interpreter, process, host and Python
version (unlike the salted built-in ``hash()`` of str and bytes).

Values are encoded canonically (type tag + length-prefixed payload) and the
encoding is hashed with BLAKE2b. Values that compare equal in Python hash
equally where Python's own equality crosses types: ``True == 1 == 1.0`` all
encode as the integer 1, so a counter keyed by them groups them together.
"""

from __future__ import annotations

import math
import struct
from hashlib import blake2b
from typing import Any

__all__ = ["canonical_bytes", "stable_hash"]


def stable_hash(value: Any) -> int:
    """A non-negative 64-bit hash of ``value`` that never depends on the process."""
    digest = blake2b(canonical_bytes(value), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def canonical_bytes(value: Any) -> bytes:
    """The canonical encoding of ``value`` used by :func:`stable_hash`."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode_int(value: int, out: bytearray) -> None:
    raw = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big", signed=True)
    out += b"i"
    out += struct.pack(">I", len(raw))
    out += raw


def _encode_text(tag: bytes, raw: bytes, out: bytearray) -> None:
    out += tag
    out += struct.pack(">I", len(raw))
    out += raw


def _encode(value: Any, out: bytearray) -> None:
    # Order matters: bool is an int, and str/bytes are sequences.
    if value is None:
        out += b"N"
    elif isinstance(value, str):
        _encode_text(b"s", value.encode("utf-8", "surrogatepass"), out)
    elif isinstance(value, bool):
        _encode_int(int(value), out)
    elif isinstance(value, int):
        _encode_int(value, out)
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            _encode_int(int(value), out)
        else:
            out += b"f"
            out += struct.pack(">d", 0.0 if value == 0 else value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        _encode_text(b"b", bytes(value), out)
    elif isinstance(value, (tuple, list)):
        out += b"t"
        out += struct.pack(">I", len(value))
        for element in value:
            _encode(element, out)
    elif isinstance(value, dict):
        items = sorted((canonical_bytes(k), canonical_bytes(v)) for k, v in value.items())
        out += b"d"
        out += struct.pack(">I", len(items))
        for key, val in items:
            out += key
            out += val
    elif isinstance(value, (set, frozenset)):
        elements = sorted(canonical_bytes(e) for e in value)
        out += b"S"
        out += struct.pack(">I", len(elements))
        for element in elements:
            out += element
    elif isinstance(value, range):
        _encode(("range", value.start, value.stop, value.step), out)
    elif hasattr(value, "item") and callable(value.item):
        # numpy scalars and 0-d arrays: hash as the Python value they equal.
        _encode(value.item(), out)
    else:
        text = repr(value)
        if " at 0x" in text:
            raise TypeError(
                f"cannot group by a {type(value).__name__}: it has no stable "
                "representation; group by str, bytes, numbers, tuples, lists or dicts"
            )
        _encode_text(b"r", f"{type(value).__qualname__}:{text}".encode(), out)
