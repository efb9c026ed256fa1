"""The reader PEs in runs: lines, JSON lines and CSV from files, patterns
and directories; the reading stage shares the chunks among its instances;
what a user gets wrong fails the run with the file and line named."""

from __future__ import annotations

import bz2
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from d4p_core import ConsumerPE, RunError, WorkflowGraph, run
from d4p_core.io import (
    ChunkReader,
    FileChunk,
    LineReader,
    LineSource,
    ReadCSV,
    ReadFiles,
    ReadJSONLines,
    ReadLines,
    SplitFiles,
)


def _results(reader: ReadFiles, mapping: str = "simple", **options: Any) -> list[Any]:
    """What ``reader`` writes, as the run's result (its output unconnected)."""
    graph = WorkflowGraph()
    graph.add(reader)
    result = run(graph, mapping, **options)
    return list(result.outputs.get(reader.reader.id, {}).get("output", []))


def _failure(reader: ReadFiles) -> str:
    with pytest.raises(RunError) as caught:
        _results(reader)
    return str(caught.value)


@pytest.fixture
def text_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha\nbeta\n")
    (folder / "b.txt").write_bytes(b"gamma\r\ndelta")
    (folder / "c.txt.gz").write_bytes(gzip.compress(b"epsilon\nzeta\n"))
    return folder


def test_read_lines_of_a_directory(text_dir: Path) -> None:
    lines = _results(ReadLines(text_dir))
    assert lines == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


def test_read_lines_of_a_pattern_and_a_list(text_dir: Path) -> None:
    assert _results(ReadLines(text_dir / "*.txt")) == ["alpha", "beta", "gamma", "delta"]
    both = ReadLines([text_dir / "b.txt", str(text_dir / "a.txt")])
    assert _results(both) == ["gamma", "delta", "alpha", "beta"]


def test_the_source_emits_chunks_and_runs_once_per_call(text_dir: Path) -> None:
    big = text_dir / "big.txt"
    big.write_text("".join(f"{i}\n" for i in range(1000)))
    files = SplitFiles(big, chunk_bytes=1000)
    graph = WorkflowGraph()
    graph.add(files)
    chunks = run(graph, "simple").outputs[files.id]["output"]
    assert [c.start for c in chunks] == [0, 1000, 2000, 3000]
    assert all(isinstance(c, FileChunk) for c in chunks)
    read = ReadLines(big, chunk_bytes=1000)
    assert sorted(map(int, _results(read, inputs=2))) == sorted(list(range(1000)) * 2)


def test_the_instances_of_the_reading_stage_share_one_big_file(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("".join(f"line {i}\n" for i in range(20_000)))
    reader = ReadLines(big, numprocesses=3, chunk_bytes=4096)
    graph = WorkflowGraph()
    graph.add(reader)
    result = run(graph, "multi", processes=4)
    lines = result.outputs[reader.reader.id]["output"]
    assert sorted(lines) == sorted(f"line {i}" for i in range(20_000))
    per_instance = result.instance_metrics[reader.reader.id]
    assert len(per_instance) == 3
    assert all(metrics.items_in > 0 for metrics in per_instance.values())


def test_dynamic_workers_read_every_line_once(tmp_path: Path) -> None:
    for k in range(6):
        (tmp_path / f"part{k}.txt").write_text("".join(f"{k}-{i}\n" for i in range(3000)))
    lines = _results(ReadLines(tmp_path, chunk_bytes=2048), "dyn_multi", processes=3)
    assert sorted(lines) == sorted(f"{k}-{i}" for k in range(6) for i in range(3000))


def test_utf16_files_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_text("ein\nzwei\ndrei\n" * 100, encoding="utf-16")
    reader = ReadLines(path, encoding="utf-16", chunk_bytes=16)
    assert reader.files.chunk_bytes is None
    assert _results(reader) == ["ein", "zwei", "drei"] * 100


def test_read_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text('{"a": 1}\n\n  \n[1, 2]\n"text"\n3.5\nnull\n')
    assert _results(ReadJSONLines(path)) == [{"a": 1}, [1, 2], "text", 3.5, None]


def test_a_line_that_is_not_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n')
    message = _failure(ReadJSONLines(path))
    assert "InputError" in message
    assert f"{path} line 3: not JSON (Expecting value at column 7)" in message


def test_read_csv_as_dicts(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text('name,note\r\nada,"multi\nline"\r\n\r\nbob,"a, b"\r\n', newline="")
    rows = _results(ReadCSV(path))
    assert rows == [{"name": "ada", "note": "multi\nline"}, {"name": "bob", "note": "a, b"}]


def test_read_csv_as_lists_or_with_given_names_and_options(tmp_path: Path) -> None:
    path = tmp_path / "table.csv.bz2"
    path.write_bytes(bz2.compress(b"1; x\n2; y\n"))
    assert _results(ReadCSV(path, header=False, delimiter=";")) == [["1", " x"], ["2", " y"]]
    named = ReadCSV(path, header=["n", "v"], delimiter=";", skipinitialspace=True)
    assert _results(named) == [{"n": "1", "v": "x"}, {"n": "2", "v": "y"}]


def test_an_empty_csv_gives_no_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b\n")
    assert _results(ReadCSV(tmp_path)) == []


def test_bad_csv_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    assert f"{path} line 3: 2 fields, but the header has 3 (a, b, c)" in _failure(ReadCSV(path))
    path.write_text("a,b,a\n1,2,3\n")
    assert f"{path} line 1: the header names a field twice: a" in _failure(ReadCSV(path))
    path.write_text('a,b\n"1,2\n')
    strict = ReadCSV(path, strict=True)
    assert f"{path} line 2: bad CSV: unexpected end of data" in _failure(strict)


def test_text_not_in_the_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    message = _failure(ReadLines(path))
    assert f"{path} line 2: not valid utf-8" in message
    assert "give the file's encoding, or errors='replace'" in message
    assert _results(ReadLines(path, encoding="latin-1")) == ["ok", "caf\u00e9"]
    csv_path = tmp_path / "latin.csv"
    csv_path.write_bytes("a\ncaf\u00e9\n".encode("latin-1"))
    assert f"{csv_path} line 2: not valid utf-8" in _failure(ReadCSV(csv_path))


def test_missing_files_fail_the_run_at_the_source(tmp_path: Path) -> None:
    message = _failure(ReadLines(tmp_path / "nothing-*.txt"))
    assert "PE 'SplitFiles0' (instance 0) failed in process" in message
    assert f"InputError: no file matches the pattern '{tmp_path}/nothing-*.txt'" in message
    assert "no such file or directory" in _failure(ReadCSV(tmp_path / "gone.csv"))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: ReadLines(p, encoding="nope"), "unknown text encoding 'nope'"),
        (lambda p: ReadLines(p, errors="loud"), "unknown encoding error handler 'loud'"),
        (lambda p: ReadLines(p, chunk_bytes=0), "chunk_bytes must be a positive int"),
        (lambda p: ReadCSV(p, delimiter="ab"), "bad CSV format"),
        (lambda p: ReadCSV(p, dialect="nope"), "bad CSV format"),
        (lambda p: ReadCSV(p, header="a,b"), "header must be True, False or a list"),
    ],
)
def test_bad_arguments_fail_where_the_workflow_is_built(
    tmp_path: Path, build: Callable[[Path], object], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        build(tmp_path)


def test_a_reading_stage_reads_paths_given_as_inputs(text_dir: Path) -> None:
    reader = LineReader()
    graph = WorkflowGraph()
    graph.add(reader)
    given = [{"input": str(text_dir / "a.txt")}, {"input": FileChunk(str(text_dir / "b.txt"))}]
    result = run(graph, "simple", inputs={reader: given})
    assert result.outputs[reader.id]["output"] == ["alpha", "beta", "gamma", "delta"]


class Words(ChunkReader):
    """A format of one's own: the words of each line."""

    def _read(self, chunk: FileChunk, emit: Callable[[Any], None]) -> None:
        for line in LineSource(chunk, self.encoding, self.errors):
            for word in line.split():
                emit(word)


class Collect(ConsumerPE):
    def _process(self, data: Any) -> None:
        self.write("seen", data)

    def __init__(self) -> None:
        super().__init__()
        self._add_output("seen")


def test_a_format_of_ones_own_is_a_chunk_reader(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("one two\nthree\n" * 50)
    reader = ReadFiles(path, Words(numprocesses=2), chunk_bytes=64)
    collect = Collect()
    graph = WorkflowGraph()
    graph.connect(reader, "output", collect, "input")
    words = run(graph, "multi", processes=4).outputs[collect.id]["seen"]
    assert sorted(words) == sorted(["one", "two", "three"] * 50)
    assert json.dumps(sorted(set(words))) == '["one", "three", "two"]'
