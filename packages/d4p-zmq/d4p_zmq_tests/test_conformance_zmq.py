"""The conformance suite on zmq_multi: ipc and tcp, one process per
instance, and fewer processes than instances (fused chains)."""

from __future__ import annotations

from typing import Any, ClassVar

from d4p_core.testing import MappingConformance


class TestZmqIpc(MappingConformance):
    mapping = "zmq_multi"
    processes = 4


class TestZmqTcp(MappingConformance):
    mapping = "zmq_multi"
    processes = 4
    options: ClassVar[dict[str, Any]] = {"transport": "tcp"}


class TestZmqIpcTwoProcesses(MappingConformance):
    """Fewer processes than instances: chains are fused."""

    mapping = "zmq_multi"
    processes = 2
