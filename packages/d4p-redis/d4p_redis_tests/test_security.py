"""Signed messages: with an auth key, unsigned or forged entries are never
unpickled; they are dropped and reported."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any

import pytest
import redis

from d4p_core import run
from d4p_redis import Codec, ForgedMessage, RunKeys

from ._forge import trap_payload
from .pes import pipeline


def test_codec_signs_and_verifies() -> None:
    signed = Codec("pickle", b"k1")
    message = signed.encode(("a", 1))
    assert signed.decode(message) == ("a", 1)  # tuples stay tuples
    with pytest.raises(ForgedMessage):
        Codec("pickle", b"k2").decode(message)
    with pytest.raises(ForgedMessage):
        signed.decode(Codec("pickle").encode(("a", 1)))
    tampered = message[:-1] + bytes([message[-1] ^ 1])
    with pytest.raises(ForgedMessage):
        signed.decode(tampered)
    assert Codec("json").decode(Codec("json").encode({"x": [1, 2]})) == {"x": [1, 2]}


def _inject(url: str, run_id: str, path: str, stop: threading.Event) -> None:
    client = redis.Redis.from_url(url)
    keys = RunKeys(run_id)
    body = trap_payload(path)
    forged = b"S" + hmac.new(b"wrong key", body, hashlib.sha256).digest() + body
    try:
        while not stop.is_set() and not client.exists(keys.tasks):
            stop.wait(0.005)
        if not stop.is_set():
            client.xadd(keys.tasks, {"d": b"P" + body})  # unsigned
            client.xadd(keys.tasks, {"d": forged})  # signed with another key
    finally:
        client.close()


@pytest.mark.parametrize("mapping", ["dyn_redis", "hybrid_redis"])
def test_forged_messages_rejected(redis_url: str, tmp_path: Any, mapping: str) -> None:
    trap = str(tmp_path / "pwned")
    run_id = f"forge-{mapping}"
    stop = threading.Event()
    injector = threading.Thread(target=_inject, args=(redis_url, run_id, trap, stop))
    injector.start()
    try:
        result = run(
            pipeline(200, pause=0.002),
            mapping,
            processes=2,
            auth_key="right key",
            run_id=run_id,
        )
    finally:
        stop.set()
        injector.join()
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(200)]
    assert not os.path.exists(trap)
    rejected = result.extra["rejected_messages"]
    assert len(rejected) == 2
    assert any("unsigned" in r for r in rejected)
    assert any("bad signature" in r for r in rejected)


def test_auth_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D4P_REDIS_AUTH_KEY", "from-env")
    result = run(pipeline(30), "redis", processes=2)
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(30)]
