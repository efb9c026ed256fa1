"""Word count over a folder of text files: the most frequent words of a corpus.

    d4p run simple examples/corpus_wordcount.py
    d4p run multi examples/corpus_wordcount.py -n 6
    WORDCOUNT_CORPUS=~/books d4p run hybrid_multi examples/corpus_wordcount.py -n 4
    python examples/corpus_wordcount.py [FOLDER]

CorpusFiles → LineReader (``d4p_core.io``'s two reading PEs, as in
``ReadLines``: the source finds the files below the folder and cuts them into
chunks, which the reader's instances share) → Tokenise (lower-case words,
stateless) → CountWords (grouped by word: every occurrence of a word reaches
the same instance, which writes ``[word, count]`` for each of its words when
the stream ends) → TopWords (a ``global`` input: one instance sees every
count and writes the result once). The result is one item: ``{"top": [[word,
count], ...], "words": total, "distinct": number of different words}``.

Without a folder (``WORDCOUNT_CORPUS`` or the first argument) the example
reads a small synthetic corpus, which the source writes from a fixed seed
into the temporary directory when the run starts, unless it is there
already (``make_corpus``): it runs anywhere and always gives the same
answer, and loading the file (``d4p graph``, a worker) writes nothing.
CountWords and TopWords keep state, so the dynamic mappings (``dyn_*``)
refuse the graph (exit 6); every other mapping runs it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from d4p_core import GenericPE, IterativePE, WorkflowGraph
from d4p_core.io import LineReader, SplitFiles

TOP = 10
SEED = 2024
FILES = {"news/2024-01.txt": 140, "news/2024-02.txt": 120, "letters.txt": 90, "notes.md": 60}
_WORDS = (
    "the of and to a in stream is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their has would "
    "when if so no data workflow process element graph mapping river station sensor signal"
)
VOCABULARY = _WORDS.split()
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
CORPUS_ENV = "WORDCOUNT_CORPUS"


def make_corpus(folder: str | os.PathLike[str]) -> Path:
    """Write the synthetic corpus into ``folder`` (created; files replaced):
    lines of words drawn with Zipf-like weights from a fixed seed, with
    capitals and punctuation for the tokeniser to remove."""
    root = Path(folder)
    rng = random.Random(SEED)
    weights = [1.0 / (rank + 1) for rank in range(len(VOCABULARY))]
    for name, lines in FILES.items():
        text = []
        for _ in range(lines):
            words = rng.choices(VOCABULARY, weights, k=rng.randint(4, 14))
            words[0] = words[0].capitalize()
            text.append(" ".join(words) + rng.choice((".", "!", "?", ",", ";")))
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return root


def default_corpus() -> Path:
    """Where the synthetic corpus goes: in the temporary directory."""
    return Path(tempfile.gettempdir()) / f"d4p-example-corpus-{SEED}"


def ensure_corpus(folder: Path) -> None:
    """Writes the synthetic corpus into ``folder`` unless it is there: into
    a private directory first, renamed into place, so that two runs starting
    together never read a half-written file."""
    if not folder.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="d4p-example-corpus-"))
        make_corpus(staging)
        try:
            os.rename(staging, folder)
        except OSError:  # another run put it in place first
            shutil.rmtree(staging)


class CorpusFiles(SplitFiles):
    """``d4p_core.io``'s source of files to read, which first writes the
    synthetic corpus when it reads the default folder: at run time, in the
    one process that runs the source."""

    def __init__(self, folder: Path, *, synthetic: bool) -> None:
        super().__init__(folder, recursive=True, chunk_bytes=4096)  # small: even this is shared
        self.folder = folder
        self.synthetic = synthetic

    def _process(self, inputs: Any) -> None:
        if self.synthetic:
            ensure_corpus(self.folder)
        super()._process(inputs)


def tokenise(line: str) -> list[str]:
    """The words of a line, lower-cased, without punctuation."""
    return WORD.findall(line.lower())


class Tokenise(IterativePE):
    """A line in, each of its words out."""

    def _process(self, line: str) -> None:
        for word in tokenise(line):
            self.write(self.OUTPUT_NAME, word)


class CountWords(GenericPE):
    """Counts the words it owns; writes ``[word, count]`` for each at the end."""

    def __init__(self) -> None:
        super().__init__(numprocesses=3)
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.counts: dict[str, int] = {}

    def _process(self, inputs: dict[str, Any]) -> None:
        word = inputs["input"]
        self.counts[word] = self.counts.get(word, 0) + 1

    def _postprocess(self) -> None:
        for word, count in self.counts.items():
            self.write("output", [word, count])


class TopWords(GenericPE):
    """Sees every word's count (a global input); writes the ``top`` most
    frequent (ties: alphabetical) and the totals, once."""

    def __init__(self, top: int = TOP) -> None:
        super().__init__()
        self._add_input("input", grouping="global")
        self._add_output("output")
        self.top = top
        self.counts: dict[str, int] = {}

    def _process(self, inputs: dict[str, Any]) -> None:
        word, count = inputs["input"]
        self.counts[word] = count

    def _postprocess(self) -> None:
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        self.write(
            "output",
            {
                "top": [[word, count] for word, count in ranked[: self.top]],
                "words": sum(self.counts.values()),
                "distinct": len(self.counts),
            },
        )


def build(folder: str | os.PathLike[str] | None = None, top: int = TOP) -> WorkflowGraph:
    """The workflow over the text files below ``folder`` (default: the
    synthetic corpus)."""
    source = default_corpus() if folder is None else Path(folder)
    graph = WorkflowGraph()
    files, lines = CorpusFiles(source, synthetic=folder is None), LineReader(numprocesses=2)
    words, count = Tokenise(), CountWords()
    graph.connect(files, "output", lines, "input")
    graph.connect(lines, "output", words, "input")
    graph.connect(words, "output", count, "input")
    graph.connect(count, "output", TopWords(top), "input")
    return graph


graph = build(os.environ.get(CORPUS_ENV) or None)

if __name__ == "__main__":  # needed by the spawn/forkserver start methods and by mpi
    from d4p_core import run

    result = run(build(sys.argv[1] if len(sys.argv) > 1 else None), "multi", processes=4)
    (summary,) = next(iter(result.outputs.values()))["output"]
    print(f"{summary['words']} words, {summary['distinct']} distinct; the most frequent:")
    for word, count in summary["top"]:
        print(f"{count:8d}  {word}")
