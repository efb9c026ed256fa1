"""``simple`` streams: 10 million items through a 5-PE pipeline in bounded memory.

The sink samples the process's resident memory after the first million items
and at the end; streaming keeps them equal up to allocator noise, while a
mapping that materialised the intermediate lists (as dispel4py's simple does)
would need gigabytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from d4p_core import ConsumerPE, WorkflowGraph, run
    from d4p_core.testing.pes import CountingProducer, PassThrough

    def rss_kib():
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    class Sink(ConsumerPE):
        def __init__(self):
            super().__init__()
            self._add_output("report")
            self.seen = 0
            self.samples = {}
        def _process(self, data):
            self.seen += 1
            if self.seen in (1_000_000, TOTAL):
                self.samples[self.seen] = rss_kib()
        def _postprocess(self):
            # The run works on a copy of the sink: report through an output.
            self.write("report", {"seen": self.seen, "samples": self.samples})

    TOTAL = int(sys.argv[1])
    graph = WorkflowGraph()
    previous = CountingProducer()
    for _ in range(3):
        stage = PassThrough()
        graph.connect(previous, "output", stage, "input")
        previous = stage
    sink = Sink()
    graph.connect(previous, "output", sink, "input")
    [report] = run(graph, "simple", inputs=TOTAL).outputs[sink.id]["report"]
    print(json.dumps(report))
    """
)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_ten_million_items_in_bounded_memory() -> None:
    total = 10_000_000
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(total)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    report = json.loads(completed.stdout)
    assert report["seen"] == total
    after_first_million = report["samples"]["1000000"]
    at_end = report["samples"][str(total)]
    # 9 million more items may not cost more than 16 MiB (noise), where
    # materialising them would cost > 300 MiB.
    assert at_end - after_first_million < 16 * 1024, report
