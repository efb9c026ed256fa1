"""Authentication of tcp connections: ZeroMQ CURVE with keys derived from a
shared auth key.

Every process of a run (driver and workers) derives the same CURVE key pair
from the auth key. Sockets that bind are CURVE servers, sockets that connect
are CURVE clients that must know the server's public key. That key is derived
from the auth key and never travels on the wire, so a peer without the auth
key cannot complete the handshake: it is rejected by libzmq before any of its
bytes reach d4p. Everything after the handshake is encrypted.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

import zmq
from zmq.utils import z85

from d4p_core import D4pError

__all__ = ["AUTH_KEY_ENV", "Curve", "new_auth_key", "resolve_auth_key"]

AUTH_KEY_ENV = "D4P_ZMQ_AUTH_KEY"
"""Environment variable read when no ``--auth-key`` is given."""

_MIN_LENGTH = 16
_CONTEXT = b"d4p-zmq curve v1\x00"


def new_auth_key() -> str:
    """A fresh random auth key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def resolve_auth_key(given: str | None) -> str | None:
    """The auth key given explicitly, else the one in ``D4P_ZMQ_AUTH_KEY``."""
    key = given if given else os.environ.get(AUTH_KEY_ENV) or None
    if key is not None and len(key) < _MIN_LENGTH:
        raise D4pError(
            f"the auth key must have at least {_MIN_LENGTH} characters; generate one with "
            "'python -m d4p_zmq.worker --new-key'"
        )
    return key


@dataclass(frozen=True)
class Curve:
    """The CURVE key pair every process of a run derives from the auth key."""

    public: bytes
    secret: bytes

    @classmethod
    def from_key(cls, key: str) -> Curve:
        if not zmq.has("curve"):  # pragma: no cover - pyzmq wheels have it
            raise D4pError("this libzmq has no CURVE support; tcp runs cannot be authenticated")
        seed = hashlib.sha256(_CONTEXT + key.encode("utf-8")).digest()
        secret = z85.encode(seed)
        return cls(public=zmq.curve_public(secret), secret=secret)

    def serve(self, socket: zmq.Socket[bytes]) -> None:
        """Make a socket that binds accept only peers that know the key."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def join(self, socket: zmq.Socket[bytes]) -> None:
        """Make a socket that connects authenticate with the key."""
        socket.curve_serverkey = self.public
        socket.curve_publickey = self.public
        socket.curve_secretkey = self.secret
