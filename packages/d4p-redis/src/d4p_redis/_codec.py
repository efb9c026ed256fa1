"""How values travel through Redis: pickle (default) or JSON, optionally
signed with an HMAC so that nothing unsigned is ever unpickled."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
from typing import Any

__all__ = ["ENV_AUTH_KEY", "Codec", "ForgedMessage"]

ENV_AUTH_KEY = "D4P_REDIS_AUTH_KEY"
_SIGNED = b"S"
_PLAIN = b"P"
_MAC = 32


class ForgedMessage(Exception):
    """A message without a valid signature (never decoded)."""


class Codec:
    """Encodes values; with ``auth_key`` every message carries an HMAC-SHA256
    of its body, checked before anything is decoded."""

    def __init__(self, serializer: str = "pickle", auth_key: bytes | None = None) -> None:
        if serializer not in ("pickle", "json"):
            raise ValueError(f"serializer must be pickle or json, not {serializer!r}")
        self.serializer = serializer
        self.auth_key = auth_key or None

    def dumps(self, value: Any) -> bytes:
        if self.serializer == "json":
            return json.dumps(value, separators=(",", ":")).encode()
        return pickle.dumps(value, protocol=5)

    def loads(self, body: bytes) -> Any:
        if self.serializer == "json":
            return json.loads(body)
        return pickle.loads(body)

    def sign(self, body: bytes) -> bytes:
        if self.auth_key is None:
            return _PLAIN + body
        mac = hmac.new(self.auth_key, body, hashlib.sha256).digest()
        return _SIGNED + mac + body

    def verify(self, message: bytes) -> bytes:
        """The body of a message whose signature is valid."""
        kind = message[:1]
        if self.auth_key is None:
            if kind == _PLAIN:
                return message[1:]
            if kind == _SIGNED:
                return message[1 + _MAC :]
            raise ForgedMessage("not a d4p message")
        if kind != _SIGNED:
            raise ForgedMessage("unsigned message")
        mac, body = message[1 : 1 + _MAC], message[1 + _MAC :]
        expected = hmac.new(self.auth_key, body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise ForgedMessage("bad signature")
        return body

    def encode(self, value: Any) -> bytes:
        return self.sign(self.dumps(value))

    def decode(self, message: bytes) -> Any:
        return self.loads(self.verify(message))

    # Run descriptions and reports hold Python objects: always pickled, signed.
    def encode_pickle(self, value: Any) -> bytes:
        return self.sign(pickle.dumps(value, protocol=5))

    def decode_pickle(self, message: bytes) -> Any:
        return pickle.loads(self.verify(message))


def auth_key_from(explicit: str | bytes | None) -> bytes | None:
    """The authentication key: given, or from ``D4P_REDIS_AUTH_KEY``."""
    value = explicit if explicit is not None else os.environ.get(ENV_AUTH_KEY)
    if not value:
        return None
    return value.encode() if isinstance(value, str) else value
