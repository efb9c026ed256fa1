"""Authentication of tcp connections: ZeroMQ CURVE, in one of two modes.

* **Shared key** (the default): every process of a run (driver and workers)
  derives the same CURVE key pair from the auth key. Sockets that bind are
  CURVE servers, sockets that connect are CURVE clients that must know the
  server's public key. That key is derived from the auth key and never
  travels on the wire, so a peer without the auth key cannot complete the
  handshake: libzmq rejects it before any of its bytes reach d4p.
* **Per-host certificates** (:mod:`d4p_zmq._certificates`): the driver and
  each worker host have their own key pair; a server knows the public keys
  it accepts (ZAP, :mod:`d4p_zmq._zap`), a client the server's public key.

Everything after the handshake is encrypted in both modes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field

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


def _require_curve() -> None:
    if not zmq.has("curve"):  # pragma: no cover - pyzmq wheels have it
        raise D4pError("this libzmq has no CURVE support; tcp runs cannot be authenticated")


@dataclass(frozen=True)
class Curve:
    """This process's CURVE key pair (z85) and the driver's public key.

    In per-host mode, servers accept only the public keys the driver
    authorizes: ``authorized`` on the driver, sent to every worker in its
    assignment. In shared-key mode knowing the server's public key, which
    only the auth key yields, is the authentication.
    """

    public: bytes
    secret: bytes = field(repr=False)
    driver: bytes
    per_host: bool = False
    authorized: frozenset[bytes] | None = None
    """The driver's (per-host mode): the public keys that may connect."""

    @classmethod
    def from_key(cls, key: str) -> Curve:
        """Shared-key mode: the pair every process derives from ``key``."""
        _require_curve()
        seed = hashlib.sha256(_CONTEXT + key.encode("utf-8")).digest()
        secret = z85.encode(seed)
        public = zmq.curve_public(secret)
        return cls(public=public, secret=secret, driver=public)

    @classmethod
    def from_pair(
        cls, public: bytes, secret: bytes, driver: bytes, authorized: frozenset[bytes] | None
    ) -> Curve:
        """Per-host mode: a key pair loaded from certificate files."""
        _require_curve()
        return cls(public, secret, driver, per_host=True, authorized=authorized)

    def serve(self, socket: zmq.Socket[bytes]) -> None:
        """Make a socket that binds a CURVE server with this process's key."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def join(self, socket: zmq.Socket[bytes], server: bytes | None = None) -> None:
        """Make a socket that connects a CURVE client of ``server`` (a public
        key; default: the driver's)."""
        socket.curve_serverkey = server or self.driver
        socket.curve_publickey = self.public
        socket.curve_secretkey = self.secret

    def rejection(self, endpoint: str, refused: bool) -> str:
        """Why the driver at ``endpoint`` did not let this worker in
        (``refused``: the driver said so; else the handshake just broke)."""
        if not self.per_host:
            return (
                f"the driver at {endpoint} rejected this worker: the auth key does not "
                "match (or that endpoint is not a d4p zmq_multi driver)"
            )
        if refused:
            return (
                f"the driver at {endpoint} refused this worker's certificate: its public key "
                "is not among the driver's authorized certificates (make this host's "
                "certificates with 'python -m d4p_zmq keys DIR NAME' in the driver's DIR)"
            )
        return (
            f"could not authenticate the driver at {endpoint}: its key is not the one in this "
            "worker's driver.key (or that endpoint is not a d4p zmq_multi driver)"
        )
