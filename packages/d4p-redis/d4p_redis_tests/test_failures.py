"""Failure semantics: a failing task (fail fast, or dead-letter and go on),
a SIGKILLed worker whose tasks are claimed by the others, a fixed-mapping
worker that dies."""

from __future__ import annotations

import re

import pytest

from d4p_core import RunError, run
from d4p_core.testing import child_processes

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
