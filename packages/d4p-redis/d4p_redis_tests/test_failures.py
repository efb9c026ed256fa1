"""Failure semantics: a failing task (fail fast, or dead-letter and go on),
a SIGKILLed worker whose tasks are claimed by the others, a task that kills
every worker that takes it (failed after ``max_deaths``), a fixed-mapping
worker that dies."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis

from d4p_core import RunError, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import DiesOnStart, KillSelfOn
from d4p_redis._codec import Codec
from d4p_redis._keys import GROUP
from d4p_redis._session import Session

from .pes import Double, pipeline


@pytest.mark.parametrize("mapping", ["dyn_redis", "hybrid_redis", "dyn_auto_redis"])
def test_fail_fast_names_pe_and_input(mapping: str) -> None:
    with pytest.raises(RunError) as error:
        run(pipeline(30, stage=Double(fail_on=11)), mapping, processes=2)
    assert error.value.pe_id == "Double1"
    assert error.value.input_repr is not None and "11" in error.value.input_repr
    assert "cannot double 11" in str(error.value)
    assert not child_processes()


@pytest.mark.parametrize("read_count", [1, 8])
def test_continue_dead_letters_and_reports(read_count: int) -> None:
    result = run(
        pipeline(40, stage=Double(fail_on=11)),
        "dyn_redis",
        processes=2,
        on_error="continue",
        max_attempts=2,
        read_count=read_count,
        batch_size=1,
    )
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(40) if i != 11]
    assert [(e.pe_id, e.input_repr) for e in result.errors] == [("Double1", "{'input': 11}")]


def test_killed_worker_tasks_are_claimed(tmp_path: object) -> None:
    marker = str(tmp_path) + "/killed"
    n = 300
    result = run(
        pipeline(n, stage=Double(kill_marker=marker)),
        "dyn_redis",
        processes=2,
        claim_idle=0.5,
        batch_size=4,
    )
    reference = run(pipeline(n), "simple")
    assert sorted(result.outputs["Double1"]["output"]) == sorted(
        reference.outputs["Double1"]["output"]
    )
    assert len(result.extra["dead_workers"]) == 1
    assert not child_processes()


def test_fixed_mapping_dead_worker_fails_the_run(tmp_path: object) -> None:
    marker = str(tmp_path) + "/killed"
    with pytest.raises(RunError) as error:
        run(pipeline(50, stage=Double(kill_marker=marker)), "redis", processes=2)
    assert re.fullmatch(
        r"worker \d \(hosting .*Double1\[\d\].*\) was killed by signal SIGKILL before finishing",
        str(error.value),
    ), str(error.value)
    assert not child_processes()


def test_bounded_backlog_still_exact() -> None:
    result = run(pipeline(2000), "dyn_redis", processes=2, backlog=2, batch_size=8)
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(2000)]
    fixed = run(pipeline(2000), "redis", processes=2, backlog=1, batch_size=8)
    assert sorted(fixed.outputs["Double1"]["output"]) == [2 * i for i in range(2000)]


def _stream_entries(client: redis.Redis, stream: str) -> dict[bytes, int]:
    """payload -> deaths, of every entry of ``stream``."""
    rows: Any = client.xrange(stream)
    return {fields[b"d"]: int(fields.get(b"h", 0)) for _, fields in rows}


def test_hand_back_counts_deaths_and_gives_back_only_what_is_still_held(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    session = Session(client, "handback-test", Codec())
    keys = session.keys
    try:
        client.set(keys.spec, b"run")
        client.xgroup_create(keys.tasks, GROUP, id="0", mkstream=True)
        for payload in (b"a", b"b", b"c"):
            client.xadd(keys.tasks, {"d": payload})
        client.xreadgroup(GROUP, "w1", {keys.tasks: ">"}, count=3)
        # w1 died holding all three: each is added again, one death more.
        assert session.hand_back(1, died=True) == 3
        assert _stream_entries(client, keys.tasks) == {b"a": 1, b"b": 1, b"c": 1}
        reply: Any = client.xreadgroup(GROUP, "w2", {keys.tasks: ">"}, count=2)
        ((_, read),) = reply
        ids: tuple[bytes, ...] = tuple(entry_id for entry_id, _ in read)
        # A live worker gives one back: unchanged; an id it no longer holds
        # (or never held) moves nothing.
        assert session.hand_back(2, died=False, ids=ids[1:]) == 1
        assert session.hand_back(2, died=False, ids=ids[1:]) == 0
        assert session.hand_back(3, died=False, ids=ids[:1]) == 0
        assert _stream_entries(client, keys.tasks) == {b"a": 1, b"b": 1, b"c": 1}
        assert [p["consumer"] for p in client.xpending_range(keys.tasks, GROUP, "-", "+", 10)] == [
            b"w2"
        ]
        # It dies holding the first: that one counts a second death.
        assert session.hand_back(2, died=True) == 1
        assert _stream_entries(client, keys.tasks)[b"a"] == 2
    finally:
        client.delete(keys.spec, keys.tasks)
        client.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("mapping", "processes", "max_deaths"),
    # dyn_auto_redis with 2 workers: the task's own count decides, not the
    # limit on replacing workers that died (4 local deaths here).
    [("dyn_redis", 4, 2), ("dyn_auto_redis", 2, 2), ("dyn_auto_redis", 2, 4)],
)
def test_a_task_that_kills_its_workers_is_dead_lettered_after_max_deaths(
    mapping: str, processes: int, max_deaths: int
) -> None:
    n = 60
    killer = KillSelfOn(7)
    result = run(
        pipeline(n, stage=killer),
        mapping,
        processes=processes,
        batch_size=1,
        on_error="continue",
        max_deaths=max_deaths,
    )
    assert sorted(result.outputs[killer.id]["output"]) == [i for i in range(n) if i != 7]
    (error,) = result.errors
    assert error.pe_id == killer.id
    assert f"{max_deaths} worker processes died holding this task" in error.error
    assert len(result.extra["dead_workers"]) == max_deaths
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_task_that_kills_its_workers_fails_the_run_with_one_message() -> None:
    killer = KillSelfOn(7)
    with pytest.raises(RunError) as error:
        run(pipeline(30, stage=killer), "dyn_auto_redis", processes=3, batch_size=1, max_deaths=1)
    assert error.value.pe_id == killer.id
    assert "1 worker process died holding this task" in str(error.value)
    assert "max_deaths=1" in str(error.value)
    assert not child_processes()


@pytest.mark.timeout(120)
def test_workers_that_die_holding_no_task_are_not_replaced_for_ever() -> None:
    with pytest.raises(RunError, match=r"died holding no task .*: a new worker would die too"):
        run(pipeline(20, stage=DiesOnStart()), "dyn_auto_redis", processes=2)
    assert not child_processes()
