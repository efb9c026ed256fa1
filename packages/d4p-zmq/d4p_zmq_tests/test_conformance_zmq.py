"""The conformance suite on zmq_multi: ipc and tcp, one process per
instance, and fewer processes than instances (fused chains)."""

from __future__ import annotations

from typing import Any, ClassVar

from d4p_core.testing import PORTABILITY_CASES, MappingConformance


class TestZmqIpc(MappingConformance):
    mapping = "zmq_multi"
    processes_span_the_run = True
    processes = 4


class TestZmqTcp(MappingConformance):
    mapping = "zmq_multi"
    processes_span_the_run = True
    processes = 4
    options: ClassVar[dict[str, Any]] = {"transport": "tcp"}


class TestZmqIpcTwoProcesses(MappingConformance):
    """Fewer processes than instances: chains are fused."""

    mapping = "zmq_multi"
    processes_span_the_run = True
    processes = 2


class TestZmqSpawn(MappingConformance):
    """Fresh interpreters (``spawn``): what travels to the workers (PEs of
    the user's ``__main__`` script included); the fast tier runs the
    portability workflows and the ``__main__`` script, the full tier all."""

    mapping = "zmq_multi"
    processes_span_the_run = True
    processes = 4
    options: ClassVar[dict[str, Any]] = {"start_method": "spawn"}
    quick_cases = PORTABILITY_CASES
    quick_clauses = frozenset({"test_matches_simple", "test_workflow_defined_in_main"})
