"""Submitting to a real Storm cluster over Nimbus Thrift (no JVM needed).

:func:`topology_package` builds the topology "jar" (a zip with the
``resources/`` folder Storm makes the tasks' working directory), and
:class:`NimbusClient` uploads it (``beginFileUpload``/``uploadChunk``/
``finishFileUpload``), submits the Thrift topology with its JSON conf and
kills it when the run is over.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import zipfile
from collections.abc import Mapping
from typing import Any

from thriftpy2.rpc import make_client
from thriftpy2.transport import TFramedTransportFactory, TTransportException

from d4p_core import RunError, ServiceUnavailableError

from ._thrift import binary_protocol, storm

__all__ = ["NimbusClient", "parse_hostport", "topology_package"]

_CHUNK = 300 * 1024


def parse_hostport(text: str, default_port: int = 6627) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        return host, int(port)
    except ValueError:
        raise ServiceUnavailableError(f"invalid Nimbus address {text!r}: use HOST:PORT") from None


def topology_package(name: str) -> bytes:
    """The topology jar: a manifest and a ``resources/`` folder (the tasks
    run an installed d4p-storm, so no code travels in it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: d4p-storm\n\n")
        jar.writestr(
            "resources/README.txt",
            f"d4p topology {name}: every task runs d4p-storm's runner (d4p_storm.runner).\n",
        )
    return buffer.getvalue()


class NimbusClient:
    """A Nimbus Thrift connection (framed transport, binary protocol)."""

    def __init__(self, hostport: str, timeout: float = 10) -> None:
        self.host, self.port = parse_hostport(hostport)
        try:
            socket.create_connection((self.host, self.port), timeout=timeout).close()
            self._client: Any = make_client(
                storm.Nimbus,
                self.host,
                self.port,
                trans_factory=TFramedTransportFactory(),
                proto_factory=binary_protocol(),
                timeout=int(timeout * 1000),
            )
        except (OSError, TTransportException) as exc:
            raise ServiceUnavailableError(
                f"cannot reach Storm Nimbus at {self.host}:{self.port}: {exc}"
            ) from None

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._client, method)(*args)
        except (OSError, TTransportException) as exc:
            raise ServiceUnavailableError(
                f"Nimbus at {self.host}:{self.port} failed during {method}: {exc}"
            ) from None
        except storm.AuthorizationException as exc:
            raise ServiceUnavailableError(f"Nimbus refused {method}: {exc.msg}") from None

    def upload(self, data: bytes) -> str:
        location: str = self._call("beginFileUpload")
        for start in range(0, len(data), _CHUNK):
            self._call("uploadChunk", location, data[start : start + _CHUNK])
        self._call("finishFileUpload", location)
        return location

    def submit(self, name: str, jar: str, conf: Mapping[str, Any], topology: Any) -> None:
        options = storm.SubmitOptions(initial_status=storm.TopologyInitialStatus.ACTIVE)
        try:
            self._call(
                "submitTopologyWithOpts", name, jar, json.dumps(dict(conf)), topology, options
            )
        except storm.InvalidTopologyException as exc:
            raise RunError(f"Nimbus refused topology {name}: {exc.msg}") from None
        except storm.AlreadyAliveException as exc:
            raise RunError(f"a topology named {name} already runs: {exc.msg}") from None

    def kill(self, name: str) -> None:
        with contextlib.suppress(storm.NotAliveException):
            self._call("killTopologyWithOpts", name, storm.KillOptions(wait_secs=0))

    def close(self) -> None:
        self._client.close()
