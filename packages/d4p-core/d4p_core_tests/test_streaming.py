"""Results as they arrive: run(on_result=...) and stream(...)."""

from __future__ import annotations

from typing import Any

import pytest

from d4p_core import ResultStream, RunError, run, stream
from d4p_core.testing import case_by_name, child_processes
from d4p_core.testing.checks import assert_same_multisets
from d4p_core.testing.conformance import build_failing
from d4p_core.testing.processes import wait_gone

LOCAL = ["simple", "multi", "dyn_multi", "hybrid_multi"]


def _collected(items: list[tuple[str, str, Any]]) -> dict[str, dict[str, list[Any]]]:
    found: dict[str, dict[str, list[Any]]] = {}
    for pe_id, output, value in items:
        found.setdefault(pe_id, {}).setdefault(output, []).append(value)
    return found


@pytest.mark.parametrize("mapping", LOCAL)
def test_on_result_gets_every_result_and_none_is_kept(mapping: str) -> None:
    case = case_by_name("multi_write")
    reference = run(case.build(), "simple", inputs=case.inputs).outputs
    received: list[tuple[str, str, Any]] = []
    result = run(
        case.build(),
        mapping,
        inputs=case.inputs,
        processes=2,
        on_result=lambda *r: received.append(r),
    )
    assert result.outputs == {}
    assert_same_multisets(_collected(received), reference)
    assert result.metrics  # the rest of the result is there


@pytest.mark.parametrize("mapping", LOCAL)
def test_stream_yields_every_result_then_has_the_run_result(mapping: str) -> None:
    case = case_by_name("multi_write")
    reference = run(case.build(), "simple", inputs=case.inputs).outputs
    with stream(case.build(), mapping, inputs=case.inputs, processes=2) as results:
        assert isinstance(results, ResultStream)
        before = results.result  # nothing before the end
        items = list(results)
    assert before is None
    assert_same_multisets(_collected(items), reference)
    final = results.result
    assert final is not None and final.outputs == {} and final.mapping == mapping


@pytest.mark.parametrize("mapping", ["simple", "multi", "dyn_multi"])
def test_closing_a_stream_early_stops_the_run(mapping: str) -> None:
    """A reader that stops (``| head``) stops the run; nothing is left."""
    graph = case_by_name("pipeline").build()
    results = stream(graph, mapping, inputs=10_000_000, processes=2)
    first = next(results)
    results.close()
    assert first[0] == "PassThrough5"
    assert results.result is None  # it did not run to the end
    assert not wait_gone(child_processes(), timeout=10)


def test_a_failing_run_raises_from_the_iteration() -> None:
    with (
        pytest.raises(RunError, match="Failing2"),
        stream(build_failing("process"), "multi", inputs=5, processes=2) as results,
    ):
        list(results)
    assert not wait_gone(child_processes(), timeout=10)


def test_a_dropped_stream_stops_its_run() -> None:
    results = stream(case_by_name("pipeline").build(), "multi", inputs=10_000_000, processes=2)
    next(results)
    thread = results._thread
    del results  # the reader went away without closing
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert not wait_gone(child_processes(), timeout=10)
