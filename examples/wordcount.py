"""Word count: seeded words → a word counter grouped by word (3 instances).

hatch run example                       # simple mapping, 20 words
d4p run multi examples/wordcount.py -i 100 -n 4
"""

from __future__ import annotations

import random
from typing import Any

from d4p_core import GenericPE, ProducerPE, WorkflowGraph

WORDS = ("stream", "process", "element", "graph", "mapping", "workflow")


class RandomWord(ProducerPE):
    """Emits one seeded random word per call."""

    def __init__(self, seed: int = 1) -> None:
        super().__init__()
        self.seed = seed
        self.rng = random.Random(seed)

    def _process(self, inputs: Any) -> list[str]:
        return [self.rng.choice(WORDS)]


class CountWords(GenericPE):
    """Keeps one count per word; all items of a word reach the same instance."""

    def __init__(self) -> None:
        super().__init__(numprocesses=3)
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.counts: dict[str, int] = {}

    def _process(self, inputs: dict[str, Any]) -> dict[str, Any]:
        word = inputs["input"][0]
        self.counts[word] = self.counts.get(word, 0) + 1
        return {"output": [word, self.counts[word]]}


graph = WorkflowGraph()
graph.connect(RandomWord(), "output", CountWords(), "input")
