"""Live progress reports reach a listener, from this process or from workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from d4p_core import run, set_progress_listener

from ._mp_pes import Busy, build_chain


@pytest.fixture
def reports() -> Iterator[list[dict[str, int]]]:
    received: list[dict[str, int]] = []
    set_progress_listener(received.append)
    yield received
    set_progress_listener(None)


def test_simple_reports_the_final_counts(reports: list[dict[str, int]]) -> None:
    run(build_chain(Busy(0.1)), "simple", inputs=40)
    assert reports[-1] == {
        "CountingProducer0": 40,
        "PassThrough1": 40,
        "Busy2": 40,
        "PassThrough3": 40,
    }


@pytest.mark.parametrize("mapping", ["simple", "multi", "dyn_multi", "hybrid_multi"])
def test_reports_arrive_while_the_run_goes_on(mapping: str, reports: list[dict[str, int]]) -> None:
    # About 2 s of work: several reports, counts that only grow.
    run(build_chain(Busy(5)), mapping, inputs=400, processes=2)
    assert len(reports) >= 2
    busy = [report.get("Busy2", 0) for report in reports]
    assert busy == sorted(busy)
    assert 0 < busy[-1] <= 400


def test_nothing_is_reported_without_a_listener() -> None:
    set_progress_listener(None)
    result = run(build_chain(Busy(0.1)), "multi", inputs=10, processes=2)
    assert result.metrics["Busy2"].items_in == 10
