"""One run of the engine study's pipelines, in this process; prints one JSON
line ``{"seconds": ..., "count": ..., "sum": ...}``.

    python benchmarks/_engine_probe.py SYSTEM PIPELINE N [MAPPING PROCESSES]

SYSTEM: ``loop`` (plain Python, the floor), ``bytewax`` (``run_main``),
``d4p`` (the per-item dispel4py API), ``d4p-block`` (``BlockPE``) or
``stream-d4py`` (its ``simple`` mapping, in its own venv). PIPELINE:
``trivial`` (source -> +1 -> x2 -> -2 -> count/sum sink: pure per-item
overhead) or ``medium`` (source -> two stages of ~10 us of pure-Python work
per item -> sink). Every system runs the same per-item user code — the
source's call per item (``_common.Counter``, given an empty input dict as
d4p's source is), the stages' ``x * self.factor + self.offset`` and the
sink's two attribute updates (``Stage``, ``Tally``, or the identical d4p
``_process`` methods) — so the differences are the engines'. Each system
imports only its own library; ``seconds`` is the run (imports done, the
graph or dataflow built inside).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workflows import _common
from benchmarks.workflows._common import (
    TRIVIAL_STAGES,
    Stage,
    Tally,
    counted,
    medium_loops,
)

BYTEWAX_BATCH = 10_000
"""Items per TestingSource poll: Bytewax's fastest setting here (batch 1,
its default, runs at ~40k items/s)."""


# -- plain Python ---------------------------------------------------------------
def run_loop(pipeline: str, n: int) -> tuple[int, int]:
    tally = Tally()
    add = tally.add
    if pipeline == "trivial":
        first, second, third = (Stage(f, o).process for f, o in TRIVIAL_STAGES)
        for i in counted(n):
            add(third(second(first(i))))
    else:
        loops = medium_loops()
        for i in range(n):
            _common.burn(loops)
            _common.burn(loops)
            add(i)
    return tally.count, tally.total


# -- Bytewax --------------------------------------------------------------------
def run_bytewax(pipeline: str, n: int) -> tuple[int, int]:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.outputs import DynamicSink, StatelessSinkPartition
    from bytewax.testing import TestingSource, run_main

    tally = Tally()

    class Partition(StatelessSinkPartition[int]):  # type: ignore[misc]
        def write_batch(self, items: list[int]) -> None:
            add = tally.add
            for item in items:
                add(item)

    class CountSum(DynamicSink[int]):  # type: ignore[misc]
        def build(self, step_id: str, worker_index: int, worker_count: int) -> Partition:
            return Partition()

    flow = Dataflow("engine_study")
    numbers = counted(n) if pipeline == "trivial" else range(n)
    stream: Any = op.input("numbers", flow, TestingSource(numbers, batch_size=BYTEWAX_BATCH))
    if pipeline == "trivial":
        for k, (f, o) in enumerate(TRIVIAL_STAGES):
            stream = op.map(f"stage{k}", stream, Stage(f, o).process)
    else:
        loops = medium_loops()
        for k in range(2):
            stream = op.map(f"work{k}", stream, lambda x: (_common.burn(loops), x)[1])
    op.output("sink", stream, CountSum())
    run_main(flow)
    return tally.count, tally.total


# -- d4p ------------------------------------------------------------------------
def run_d4p(pipeline: str, n: int, mapping: str, processes: int, block: bool) -> tuple[int, int]:
    import d4p_core
    from benchmarks.workflows import engine

    graph = engine.build(pipeline, block)
    kwargs: dict[str, Any] = {} if mapping == "simple" else {"processes": processes}
    result = d4p_core.run(graph, mapping, inputs=n, **kwargs)
    count = total = 0
    for by_output in result.outputs.values():
        for partial in [*by_output.get("result", []), *by_output.get("output", [])]:
            count += partial[0]
            total += partial[1]
    return count, total


# -- stream-d4py ----------------------------------------------------------------
def run_stream_d4py(pipeline: str, n: int) -> tuple[int, int]:
    from dispel4py.base import ConsumerPE
    from dispel4py.new.simple_process import process_and_return
    from dispel4py.workflow_graph import WorkflowGraph

    # The throughput workload's twins: the same code as d4p's Numbers/Apply.
    from benchmarks.workflows.twins._pes import Apply, Numbers

    class Sink(ConsumerPE):  # type: ignore[misc]
        def __init__(self) -> None:
            ConsumerPE.__init__(self)
            self._add_output("result")
            self.count = self.total = 0

        def _process(self, data: int) -> None:
            self.count += 1
            self.total += data

        def _postprocess(self) -> None:
            self.write("result", [self.count, self.total])

    if pipeline != "trivial":
        raise SystemExit("stream-d4py runs only the trivial pipeline here")
    source, sink = Numbers(), Sink()  # type: ignore[no-untyped-call]
    graph = WorkflowGraph()
    previous: Any = source
    for stage in [*(Apply(f, o) for f, o in TRIVIAL_STAGES), sink]:  # type: ignore[no-untyped-call]
        graph.connect(previous, "output", stage, "input")
        previous = stage
    outputs = process_and_return(graph, {source: n})
    [[count, total]] = [
        item for by_output in outputs.values() for items in by_output.values() for item in items
    ]
    return count, total


def main(argv: list[str]) -> None:
    system, pipeline, n = argv[0], argv[1], int(argv[2])
    mapping = argv[3] if len(argv) > 3 else "simple"
    processes = int(argv[4]) if len(argv) > 4 else 1
    started = time.perf_counter()
    if system == "loop":
        count, total = run_loop(pipeline, n)
    elif system == "bytewax":
        count, total = run_bytewax(pipeline, n)
    elif system in ("d4p", "d4p-block"):
        count, total = run_d4p(pipeline, n, mapping, processes, system == "d4p-block")
    elif system == "stream-d4py":
        count, total = run_stream_d4py(pipeline, n)
    else:
        raise SystemExit(f"unknown system {system!r}")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "count": count, "sum": total}))


if __name__ == "__main__":
    main(sys.argv[1:])
