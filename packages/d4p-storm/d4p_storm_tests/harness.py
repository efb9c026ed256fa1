"""Storm's side of the multilang protocol, for driving the runner in a real
subprocess without Java: handshake, spout commands, bolt tuples and
heartbeats. A unit-test tool; the LocalCluster tests run the real Storm."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

from d4p_storm._submit import default_command
from d4p_storm.topology import TopologySpec


def storm_context(spec: TopologySpec, component: str, index: int = 0) -> dict[str, Any]:
    """The part of Storm's topology context the runner reads."""
    task_component: dict[str, str] = {"1": "__acker", "2": "__system"}
    tasks: dict[str, list[int]] = {}
    ids = itertools.count(3)
    for comp in spec.components:
        for _ in range(comp.parallelism):
            task_id = next(ids)
            task_component[str(task_id)] = comp.id
            tasks.setdefault(comp.id, []).append(task_id)
    sources: dict[str, dict[str, Any]] = {}
    for sub in spec.component(component).inputs:
        sources.setdefault(sub.source, {})[sub.stream] = {"type": sub.grouping.upper()}
    return {
        "taskid": tasks[component][index],
        "componentid": component,
        "task->component": task_component,
        "source->stream->grouping": sources,
    }


class StormSide:
    """One runner subprocess and the Storm end of its pipes."""

    def __init__(self, conf: dict[str, Any], context: dict[str, Any], folder: Path) -> None:
        self.pid_dir = folder / f"pids-{context['componentid']}-{context['taskid']}"
        self.pid_dir.mkdir()
        self.process = subprocess.Popen(
            list(default_command()),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.send({"pidDir": str(self.pid_dir), "conf": conf, "context": context})
        reply = self.read()
        self.pid = reply["pid"]
        assert (self.pid_dir / str(self.pid)).exists()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\nend\n")
        self.process.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        lines: list[bytes] = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise EOFError("the runner closed its output")
            if line == b"end\n":
                message: dict[str, Any] = json.loads(b"".join(lines))
                return message
            lines.append(line)

    def until_sync(self) -> list[dict[str, Any]]:
        """Messages up to the next ``sync`` (which is not included)."""
        messages: list[dict[str, Any]] = []
        while True:
            message = self.read()
            if message.get("command") == "sync":
                return messages
            messages.append(message)

    def command(self, name: str) -> list[dict[str, Any]]:
        """A spout command; what the runner wrote before its ``sync``."""
        self.send({"command": name})
        return self.until_sync()

    def tuple(self, tuple_id: str, source: str, stream: str, values: list[Any]) -> None:
        self.send({"id": tuple_id, "comp": source, "stream": stream, "task": 3, "tuple": values})

    def heartbeat(self) -> None:
        self.send({"id": "-1", "comp": None, "stream": "__heartbeat", "task": -1, "tuple": []})

    def close(self) -> int:
        """End the runner as Storm does when the topology is killed."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


__all__ = ["StormSide", "storm_context"]
