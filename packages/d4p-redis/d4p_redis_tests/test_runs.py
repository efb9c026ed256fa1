"""Runs side by side on one Redis, run ids, payload formats."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from d4p_core import D4pError, RunResult, run
from d4p_redis import RunKeys

from .pes import Tuples, pipeline


def test_two_concurrent_runs() -> None:
    results: dict[str, RunResult] = {}
    errors: list[BaseException] = []

    def go(mapping: str, n: int) -> None:
        try:
            results[mapping] = run(pipeline(n, pause=0.001), mapping, processes=2)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=go, args=("dyn_redis", 300)),
        threading.Thread(target=go, args=("redis", 200)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(results["dyn_redis"].outputs["Double1"]["output"]) == [2 * i for i in range(300)]
    assert sorted(results["redis"].outputs["Double1"]["output"]) == [2 * i for i in range(200)]
    assert results["dyn_redis"].extra["run_id"] != results["redis"].extra["run_id"]


def test_run_id_in_use(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(RunKeys("taken").spec, b"x")
        with pytest.raises(D4pError, match="in use"):
            run(pipeline(5), "dyn_redis", processes=2, run_id="taken")
        assert client.get(RunKeys("taken").spec) == b"x"  # someone else's run is untouched
    finally:
        client.delete(RunKeys("taken").spec)
        client.close()


@pytest.mark.parametrize("mapping", ["dyn_redis", "redis"])
def test_tuples_stay_tuples_with_pickle(mapping: str) -> None:
    result = run(pipeline(10, stage=Tuples()), mapping, processes=2)
    assert sorted(result.outputs["Tuples1"]["output"]) == [(i, [i]) for i in range(10)]


def test_json_payloads() -> None:
    result = run(pipeline(10, stage=Tuples()), "dyn_redis", processes=2, serializer="json")
    # Results travel in signed pickled reports; only task payloads are JSON.
    values: Any = result.outputs["Tuples1"]["output"]
    assert sorted(values) == [(i, [i]) for i in range(10)]


@pytest.mark.parametrize("bad", [{"serializer": "yaml"}, {"on_error": "ignore"}, {"backlog": 0}])
def test_bad_options(bad: dict[str, Any]) -> None:
    with pytest.raises(D4pError):
        run(pipeline(5), "dyn_redis", processes=2, **bad)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
@pytest.mark.parametrize("mapping", ["redis", "dyn_redis", "hybrid_redis"])
def test_other_start_methods(mapping: str, start_method: str) -> None:
    # Under forkserver the workers are the fork server's children, not the
    # driver's: they must still run (and still end with the driver).
    result = run(pipeline(50), mapping, processes=2, start_method=start_method)
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(50)]
