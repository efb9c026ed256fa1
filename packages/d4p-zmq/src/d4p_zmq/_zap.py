"""The gatekeeper of per-host mode: a ZAP handler that lets a CURVE client
in only if its public key is one the driver authorized.

With CURVE alone a server accepts any client that knows the server's public
key. In shared-key mode that key is the secret; with per-host certificates
public keys are not secret, so every process that binds (the driver and
every worker, for its data socket) runs a :class:`Gatekeeper` on its ZeroMQ
context: libzmq asks it about each handshake before any message is let
through.
"""

from __future__ import annotations

import logging
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

__all__ = ["Gatekeeper"]


class Gatekeeper:
    """ZAP for every CURVE server socket of ``context``; :meth:`stop` it
    before the context is terminated."""

    def __init__(self, context: zmq.Context[Any], authorized: frozenset[bytes]) -> None:
        self.authorized = authorized
        self._authenticator = ThreadAuthenticator(context, log=logging.getLogger("d4p_zmq.zap"))
        self._authenticator.start()
        self._authenticator.configure_curve_callback("*", credentials_provider=self)

    def callback(self, domain: str, key: bytes) -> bool:
        """pyzmq's question: may the client with this (z85) public key in?"""
        return key in self.authorized

    def stop(self) -> None:
        self._authenticator.stop()
