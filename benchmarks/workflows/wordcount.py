"""wordcount: deterministic Zipf-like words -> a counter grouped by word with 3
instances (stateful). Each counter instance reports its counts in postprocess.

Result: per-word counts (digest), and no word counted by two instances.
"""

from __future__ import annotations

from typing import Any

from d4p_core import GenericPE, ProducerPE, WorkflowGraph

from . import _common
from ._pes import Workload

__all__ = ["CountWords", "Words", "build", "graph"]


class Words(ProducerPE):
    """Emits ``[word]`` for item 0, 1, 2, ..."""

    def __init__(self) -> None:
        super().__init__()
        self.index = 0

    def _process(self, inputs: Any) -> list[str]:
        word = _common.word_for(self.index)
        self.index += 1
        return [word]


class CountWords(GenericPE):
    """One count per word; grouped by word, so a word lives on one instance."""

    def __init__(self) -> None:
        super().__init__(numprocesses=3)
        self._add_input("input", grouping=[0])
        self._add_output("result")
        self.counts: dict[str, int] = {}

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        word = inputs["input"][0]
        self.counts[word] = self.counts.get(word, 0) + 1
        return None

    def _postprocess(self) -> None:
        self.write("result", {"counts": self.counts})


def build(n: int = 10_000) -> Workload:
    g = WorkflowGraph()
    g.connect(Words(), "output", CountWords(), "input")
    return Workload("wordcount", g, n, n)


graph = build().graph
