"""The file I/O PEs of ``d4p_core.io`` on every installed mapping: a
read -> process -> write workflow (lines, CSV and JSON lines; plain,
gzip'd and bzip2'd files; a big file cut into many chunks) reads every
line exactly once and writes every item exactly once, in files the run's
result lists; ``one_file=True`` writes exactly one file where the mapping
can run a global PE and is refused with the usual message where it cannot.

The workflow is a file loaded as a user's would be (``load_module``), so
its PEs reach every mapping's workers; one run goes through ``d4p run``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import d4p_core
from d4p_core import RunResult
from d4p_core.backend import PlacedRun

MAPPINGS = sorted(d4p_core.available_mappings())
REDIS = {"redis", "dyn_redis", "dyn_auto_redis", "hybrid_redis"}
REPO = Path(__file__).resolve().parent.parent

BIG_LINES = 6000
SMALL_FILES, SMALL_LINES = 5, 40
PACKED_LINES = 300
CSV_ROWS = (400, 150)
JSON_RECORDS = (900, 250)

WORKFLOW = '''
"""read -> process -> write, written as a user would."""
from __future__ import annotations

import os

from d4p_core import IterativePE, WorkflowGraph
from d4p_core.io import ReadCSV, ReadJSONLines, ReadLines, WriteCSV, WriteJSONLines

HERE = os.path.dirname(os.path.abspath(__file__))


class ParseLine(IterativePE):
    def _process(self, line):
        source, index, word = line.split(",")
        return {"source": source, "index": int(index), "word": word}


class Square(IterativePE):
    def _process(self, row):
        return {**row, "square": int(row["n"]) ** 2}


class Tag(IterativePE):
    def _process(self, record):
        return {**record, "tagged": True}


def build(data, out):
    graph = WorkflowGraph()
    lines = ReadLines(
        os.path.join(data, "text"), recursive=True, numprocesses=2, chunk_bytes=4096
    )
    parse = ParseLine()
    graph.connect(lines, "output", parse, "input")
    graph.connect(parse, "output", WriteJSONLines(os.path.join(out, "lines.jsonl")), "input")
    rows, square = ReadCSV(os.path.join(data, "tables", "*.csv*")), Square()
    graph.connect(rows, "output", square, "input")
    graph.connect(square, "output", WriteCSV(os.path.join(out, "rows.csv")), "input")
    records, tag = ReadJSONLines(os.path.join(data, "records")), Tag()
    graph.connect(records, "output", tag, "input")
    graph.connect(tag, "output", WriteJSONLines(os.path.join(out, "records.jsonl.gz")), "input")
    return graph


def build_one_file(data, out):
    graph = WorkflowGraph()
    lines = ReadLines(os.path.join(data, "text"), recursive=True, chunk_bytes=4096)
    graph.connect(
        lines, "output", WriteJSONLines(os.path.join(out, "all.jsonl"), one_file=True), "input"
    )
    return graph


def from_here():
    """The workflow on the data beside this file (for d4p run)."""
    return build(os.path.join(HERE, "data"), os.path.join(HERE, "out"))
'''


def _marks(mapping: str) -> Any:
    # Every storm run starts a Storm LocalCluster JVM of its own.
    return pytest.param(mapping, marks=pytest.mark.slow) if mapping == "storm" else mapping


EVERY_MAPPING = [_marks(m) for m in MAPPINGS]


def _make_data(data: Path) -> dict[str, list[Any]]:
    """Write the input files; return what each writer must hold."""
    return {
        "lines": _text(data / "text"),
        "rows": _tables(data / "tables"),
        "records": _records(data / "records"),
    }


def _text(folder: Path) -> list[dict[str, Any]]:
    """A big file (many chunks), CRLF files in a subdirectory, a gzip'd
    file, and a hidden file that is never read."""
    (folder / "sub").mkdir(parents=True)
    lines: list[dict[str, Any]] = []

    def content(source: str, count: int) -> bytes:
        block = [{"source": source, "index": i, "word": f"w{i % 7}é"} for i in range(count)]
        lines.extend(block)
        return "".join(f"{r['source']},{r['index']},{r['word']}\n" for r in block).encode()

    (folder / "big.txt").write_bytes(content("big", BIG_LINES))
    for k in range(SMALL_FILES):
        crlf = content(f"small{k}", SMALL_LINES).replace(b"\n", b"\r\n")
        (folder / "sub" / f"small{k}.txt").write_bytes(crlf)
    (folder / "sub" / "packed.txt.gz").write_bytes(gzip.compress(content("packed", PACKED_LINES)))
    (folder / ".hidden.txt").write_text("never,0,read\n")
    return lines


def _tables(folder: Path) -> list[dict[str, Any]]:
    """CSV files (one gzip'd) whose names hold a comma, quotes and a
    newline: records that span lines."""
    folder.mkdir()
    rows: list[dict[str, Any]] = []
    for name, count in zip(("a.csv", "b.csv.gz"), CSV_ROWS, strict=True):
        block = [{"n": str(i), "name": f'{name} row {i}, "q"\nnext'} for i in range(count)]
        rows.extend({**row, "square": str(int(row["n"]) ** 2)} for row in block)
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, ["n", "name"])
        writer.writeheader()
        writer.writerows(block)
        raw = text.getvalue().encode()
        (folder / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    return rows


def _records(folder: Path) -> list[dict[str, Any]]:
    """JSON lines files (one bzip2'd) with blank lines between records."""
    folder.mkdir()
    records: list[dict[str, Any]] = []
    for name, count in zip(("r.jsonl", "s.jsonl.bz2"), JSON_RECORDS, strict=True):
        block = [{"file": name, "i": i, "values": [i, i / 2]} for i in range(count)]
        records.extend({**r, "tagged": True} for r in block)
        raw = ("\n\n".join(json.dumps(r) for r in block) + "\n").encode()
        (folder / name).write_bytes(bz2.compress(raw) if name.endswith(".bz2") else raw)
    return records


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, dict[str, list[Any]]]:
    root = tmp_path_factory.mktemp("io_pes")
    (root / "io_wf.py").write_text(WORKFLOW)
    expected = _make_data(root / "data")
    return d4p_core.load_module(str(root / "io_wf.py")), root, expected


def _options(mapping: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if mapping in REDIS:
        return {"redis_url": request.getfixturevalue("redis_url")}
    return {}


def _reports(result: RunResult) -> list[dict[str, Any]]:
    """Every ``{"path", "items"}`` the writers reported."""
    return [
        value
        for pe_id, outputs in result.outputs.items()
        if pe_id.startswith("Write")
        for value in outputs.get("output", [])
    ]


def _read(path: str) -> list[Any]:
    if path.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    opener: Any = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _multiset(items: list[Any]) -> Counter[str]:
    return Counter(json.dumps(item, sort_keys=True) for item in items)


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_read_process_write_is_exactly_once(
    workflow: tuple[Any, Path, dict[str, list[Any]]],
    mapping: str,
    request: pytest.FixtureRequest,
    no_leftover_processes: None,
) -> None:
    module, root, expected = workflow
    out = root / "out" / mapping
    graph = module.build(str(root / "data"), str(out))
    result = d4p_core.run(graph, mapping, processes=6, **_options(mapping, request))

    reports = _reports(result)
    paths = [r["path"] for r in reports]
    assert len(set(paths)) == len(paths), "two writer copies reported one file"
    # the run wrote exactly the files it reports, each holding what it says
    assert sorted(paths) == sorted(str(p) for p in out.iterdir())
    written: dict[str, list[Any]] = {"lines": [], "rows": [], "records": []}
    for report in reports:
        content = _read(report["path"])
        assert len(content) == report["items"] > 0, report
        written[Path(report["path"]).name.split("-")[0]].extend(content)
    for kind, items in expected.items():
        assert _multiset(written[kind]) == _multiset(items), f"{kind}: not exactly once"

    # where the reading stage has several fixed instances, they share the chunks
    reader = next(pe_id for pe_id in result.metrics if pe_id.startswith("LineReader"))
    planned = d4p_core.load_mapping(mapping).plan(graph, _planning_options(mapping))
    plan = planned.plan if isinstance(planned, PlacedRun) else planned
    copies = result.instance_metrics.get(reader, {})
    if plan.instances[reader] > 1:
        assert len(copies) > 1 and all(m.items_in > 0 for m in copies.values()), copies


def _planning_options(mapping: str) -> Any:
    return d4p_core.load_mapping(mapping).options_from_kwargs(6)


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_one_file_writes_one_file_or_is_refused(
    workflow: tuple[Any, Path, dict[str, list[Any]]],
    mapping: str,
    request: pytest.FixtureRequest,
    no_leftover_processes: None,
) -> None:
    module, root, expected = workflow
    out = root / "one" / mapping
    graph = module.build_one_file(str(root / "data"), str(out))
    options = _options(mapping, request)
    if not d4p_core.load_mapping(mapping).supports_stateful:
        with pytest.raises(d4p_core.UnsupportedGraphError, match=f"{mapping} runs only stateless"):
            d4p_core.run(graph, mapping, processes=4, **options)
        assert not out.exists()
        return
    result = d4p_core.run(graph, mapping, processes=4, **options)
    assert _reports(result) == [{"path": str(out / "all.jsonl"), "items": len(expected["lines"])}]
    assert os.listdir(out) == ["all.jsonl"]
    lines = [",".join(map(str, r.values())) for r in expected["lines"]]
    assert Counter(_read(str(out / "all.jsonl"))) == Counter(lines)


def test_d4p_run_prints_the_files_written(
    workflow: tuple[Any, Path, dict[str, list[Any]]], run_module: Any
) -> None:
    _, root, expected = workflow
    beside = root / "cli"
    beside.mkdir()
    (beside / "io_wf.py").write_text(WORKFLOW)
    (beside / "data").symlink_to(root / "data")
    completed = run_module("multi", str(beside / "io_wf.py"), "-a", "from_here", "-n", "6")
    assert completed.returncode == 0, completed.stderr
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    assert {r["pe"].rstrip("0123456789") for r in records} == {"WriteJSONLines", "WriteCSV"}
    total = {kind: len(items) for kind, items in expected.items()}
    counted: Counter[str] = Counter()
    for record in records:
        path = Path(record["value"]["path"])
        assert path.parent == beside / "out"
        counted[path.name.split("-")[0]] += record["value"]["items"]
    assert dict(counted) == total
