"""The writer PEs: each copy writes its own part (claimed with a lock, so a
live writer's part is never shared and a leftover one is overwritten), or
one instance writes exactly one file; files are complete when the run ends
and the run's result lists them."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import d4p_core
from d4p_core import ProducerPE, RunError, UnsupportedGraphError, WorkflowGraph, run
from d4p_core.io import ReadCSV, WriteCSV, WriteJSONLines
from d4p_core.io._parts import claim, claim_part, part_path
from d4p_core.io._writer import FileWriter


class Items(ProducerPE):
    """Writes the items it was built with."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.items = items

    def _process(self, inputs: Any) -> None:
        for item in self.items:
            self.write("output", item)


def _write(
    items: list[Any], writer: FileWriter, mapping: str = "simple", **options: Any
) -> list[dict[str, Any]]:
    graph = WorkflowGraph()
    graph.connect(Items(items), "output", writer, "input")
    result = run(graph, mapping, **options)
    return sorted(result.outputs.get(writer.id, {}).get("output", []), key=lambda r: r["path"])


def _json_lines(path: str) -> list[Any]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize(
    ("template", "part", "expected"),
    [
        ("/o/counts.jsonl", 3, "/o/counts-3.jsonl"),
        ("/o/table.csv.gz", 0, "/o/table-0.csv.gz"),
        ("/o/out", 12, "/o/out-12"),
        ("/o/run.v2.jsonl", 1, "/o/run.v2-1.jsonl"),
        ("/o/{part}/data.csv", 2, "/o/2/data.csv"),
    ],
)
def test_part_paths(template: str, part: int, expected: str) -> None:
    assert part_path(template, part) == expected


def test_a_claimed_part_is_skipped_until_released_then_overwritten(tmp_path: Path) -> None:
    template = str(tmp_path / "deep" / "out.txt")
    first_path, first = claim_part(template, 0)
    second_path, second = claim_part(template, 0)
    assert (first_path, second_path) == (part_path(template, 0), part_path(template, 1))
    first.write(b"old data that is longer\n")
    first.close()
    second.close()
    again_path, again = claim_part(template, 0)
    assert again_path == first_path
    again.write(b"new\n")
    again.close()
    assert Path(first_path).read_bytes() == b"new\n"


@pytest.fixture
def held_elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A part claimed by another live process (which holds it until told)."""
    path = tmp_path / "out-0.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        from d4p_core.io._parts import claim
        held = claim({str(path)!r})
        held.write(b"theirs\\n"); held.flush()
        print("held", flush=True)
        sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline() == "held\n"
        yield path
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def test_a_part_another_process_writes_is_left_alone(held_elsewhere: Path) -> None:
    assert claim(str(held_elsewhere)) is None
    reports = _write([1, 2], WriteJSONLines(held_elsewhere.parent / "out.jsonl"))
    assert [Path(r["path"]).name for r in reports] == ["out-1.jsonl"]
    assert held_elsewhere.read_text() == "theirs\n"


def test_write_json_lines_reports_what_it_wrote(tmp_path: Path) -> None:
    items = [{"a": 1, "é": "ü"}, [1, 2.5], "text", None, True]
    [report] = _write(items, WriteJSONLines(tmp_path / "out" / "items.jsonl"))
    assert report == {"path": str(tmp_path / "out" / "items-0.jsonl"), "items": 5}
    text = Path(report["path"]).read_text(encoding="utf-8")
    assert text.splitlines()[0] == '{"a":1,"é":"ü"}'
    assert _json_lines(report["path"]) == items


def test_compressed_output_and_json_options(tmp_path: Path) -> None:
    writer = WriteJSONLines(tmp_path / "items.jsonl.gz", default=str, sort_keys=True)
    [report] = _write([{"b": 1, "a": frozenset({1})}], writer)
    assert report["path"].endswith("items-0.jsonl.gz")
    assert _json_lines(report["path"]) == [{"a": "frozenset({1})", "b": 1}]


def test_a_value_json_cannot_hold_fails_the_run_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"cannot write \{1, 2\} as JSON .*pass default=str"):
        _write([1, {1, 2}], WriteJSONLines(tmp_path / "x.jsonl"))


def test_several_instances_write_several_parts(tmp_path: Path) -> None:
    writer = WriteJSONLines(tmp_path / "n.jsonl", numprocesses=3)
    reports = _write(list(range(300)), writer, "multi", processes=4)
    assert [Path(r["path"]).name for r in reports] == ["n-0.jsonl", "n-1.jsonl", "n-2.jsonl"]
    assert sum(r["items"] for r in reports) == 300
    written = [item for r in reports for item in _json_lines(r["path"])]
    assert sorted(written) == list(range(300))


def test_dynamic_workers_claim_distinct_parts(tmp_path: Path) -> None:
    writer = WriteJSONLines(tmp_path / "n.jsonl")
    reports = _write(list(range(2000)), writer, "dyn_multi", processes=3)
    paths = [r["path"] for r in reports]
    assert len(set(paths)) == len(paths) >= 1
    assert sorted(item for p in paths for item in _json_lines(p)) == list(range(2000))
    assert sum(r["items"] for r in reports) == 2000


def test_a_second_run_overwrites_its_parts(tmp_path: Path) -> None:
    _write(list(range(100)), WriteJSONLines(tmp_path / "n.jsonl"))
    [report] = _write([7], WriteJSONLines(tmp_path / "n.jsonl"))
    assert _json_lines(report["path"]) == [7]


def test_one_file_writes_exactly_its_path_even_when_empty(tmp_path: Path) -> None:
    target = tmp_path / "all.jsonl"
    [report] = _write(list(range(50)), WriteJSONLines(target, one_file=True), "multi", processes=4)
    assert report == {"path": str(target), "items": 50}
    assert sorted(_json_lines(str(target))) == list(range(50))
    [empty] = _write([], WriteJSONLines(target, one_file=True))
    assert empty["items"] == 0
    assert target.read_text() == ""


def test_one_file_is_a_global_pe_that_dynamic_mappings_refuse(tmp_path: Path) -> None:
    writer = WriteJSONLines(tmp_path / "all.jsonl", one_file=True)
    assert writer.inputconnections["input"][d4p_core.GROUPING] == "global"
    with pytest.raises(UnsupportedGraphError, match="dyn_multi runs only stateless PEs"):
        _write([1], writer, "dyn_multi", processes=2)
    [report] = _write([1, 2], writer, "hybrid_multi", processes=2)
    assert report["items"] == 2


def test_one_file_refuses_a_file_another_writer_holds(held_elsewhere: Path) -> None:
    with pytest.raises(RunError, match="is being written by another writer"):
        _write([1], WriteJSONLines(held_elsewhere, one_file=True))


def test_write_csv_from_dicts_and_read_it_back(tmp_path: Path) -> None:
    rows = [{"name": "ada", "note": "multi\nline, quoted"}, {"note": "no name"}]
    [report] = _write(rows, WriteCSV(tmp_path / "t.csv"))
    assert report["items"] == 2
    reader = ReadCSV(report["path"])
    graph = WorkflowGraph()
    graph.add(reader)
    back = run(graph, "simple").outputs[reader.reader.id]["output"]
    assert back == [rows[0], {"name": "", "note": "no name"}]


def test_write_csv_rows_as_lists_with_given_fieldnames_and_format(tmp_path: Path) -> None:
    writer = WriteCSV(tmp_path / "t.csv", fieldnames=["x", "y"], one_file=True, delimiter=";")
    _write([[1, 2], (3, "a;b")], writer)
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle, delimiter=";")) == [["x", "y"], ["1", "2"], ["3", "a;b"]]
    _write([], writer)
    assert (tmp_path / "t.csv").read_bytes() == b"x;y\r\n"  # the header, even with no row
    _write([[1, 2]], WriteCSV(tmp_path / "n.csv", header=False, one_file=True))
    assert (tmp_path / "n.csv").read_bytes() == b"1,2\r\n"


def test_every_csv_part_has_its_header(tmp_path: Path) -> None:
    rows = [{"i": i, "sq": i * i} for i in range(100)]
    reports = _write(rows, WriteCSV(tmp_path / "t.csv", numprocesses=2), "multi", processes=3)
    assert len(reports) == 2
    for report in reports:
        with open(report["path"], newline="") as handle:
            records = list(csv.DictReader(handle))
        assert len(records) == report["items"] > 0
        assert all(int(r["sq"]) == int(r["i"]) ** 2 for r in records)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"a": 1}, {"a": 2, "b": 3}], r"fields that are not in the CSV's fields \(a\): 'b'"),
        ([{"a": 1}, 5], "WriteCSV writes rows given as dicts or lists/tuples, not int: 5"),
        (["text"], "not str: 'text'"),
    ],
)
def test_rows_that_do_not_fit_fail_the_run(tmp_path: Path, rows: list[Any], message: str) -> None:
    with pytest.raises(RunError, match=message):
        _write(rows, WriteCSV(tmp_path / "t.csv"))


def test_bad_writer_arguments_fail_where_the_workflow_is_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one_file=True writes exactly"):
        WriteJSONLines(tmp_path / "{part}.jsonl", one_file=True)
    with pytest.raises(ValueError, match="unknown text encoding"):
        WriteCSV(tmp_path / "t.csv", encoding="nope")
    with pytest.raises(ValueError, match="bad CSV format"):
        WriteCSV(tmp_path / "t.csv", quoting=99)
    with pytest.raises(TypeError, match="fieldnames must be a list"):
        WriteCSV(tmp_path / "t.csv", fieldnames="a,b")
