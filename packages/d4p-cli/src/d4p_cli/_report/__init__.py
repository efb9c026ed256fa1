"""``d4p run … --report FILE.html``: one self-contained page about a run —
the workflow drawn with its groupings and instance counts, where the time
went, items and throughput per PE, and how evenly instances shared the work.

Everything is inline (CSS, a small script, SVG drawn here), so the page
needs no network and no Graphviz.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TextIO

from d4p_core import RunResult, WorkflowGraph
from d4p_core.backend import Plan

from .._errors import OutputError
from .._topology import Topology
from ._facts import RunFacts, gather
from ._page import render_page

__all__ = ["RunFacts", "report_facts", "write_report"]


def report_facts(
    graph: WorkflowGraph,
    result: RunResult,
    *,
    title: str,
    command: Sequence[str] = (),
    processes: int | None = None,
    results: int | None = None,
) -> RunFacts:
    """What the report of ``result`` (a run of ``graph``) shows.

    Groupings come from the plan (they do not depend on the number of
    processes); instance counts from the metrics, i.e. what actually ran
    (a dynamic mapping's workers, a fixed mapping's placed instances).
    """
    ran = {pe_id: m.instances for pe_id, m in result.metrics.items() if m.instances > 0}
    topology = Topology.from_plan(Plan.build(graph), ran)
    if results is None:
        results = sum(
            len(values) for outputs in result.outputs.values() for values in outputs.values()
        )
    created = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return gather(
        result,
        topology,
        title=title,
        command=command,
        processes=processes,
        results=results,
        created=created,
    )


def write_report(stream: TextIO, facts: RunFacts) -> None:
    """Write the report page of ``facts`` to ``stream`` (an :class:`OutputError`
    names the file when it cannot be written, e.g. a full disk)."""
    try:
        stream.write(render_page(facts))
        stream.flush()
    except OSError as error:
        name = getattr(stream, "name", "the report")
        raise OutputError(f"cannot write {name!r}: {error.strerror or error}") from error
