"""Chunks and lines: every line of a file is read exactly once however the
file is cut, in every encoding and compression a reader accepts, and a
line that cannot be decoded is named by file and line (or byte)."""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
from pathlib import Path

import pytest

from d4p_core import InputError
from d4p_core.io import FileChunk, LineSource
from d4p_core.io._chunks import as_chunk, byte_splittable, check_encoding, split_file

TEXT = (
    "first\r\n\nsecond line é\n\u00e9t\u00e9 \u2603\n\r\nx\n" + "long " * 40 + "\nlast no newline"
)
EXPECTED = ["first", "", "second line é", "été ☃", "", "x", "long " * 40, "last no newline"]


def _lines(chunk: FileChunk, encoding: str = "utf-8") -> list[str]:
    return list(LineSource(chunk, encoding))


def _cut(path: Path, size: int) -> list[FileChunk]:
    return list(split_file(str(path), size))


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "text.txt"
    path.write_bytes(TEXT.encode())
    return path


def test_the_whole_file_gives_each_line_without_its_ending(text_file: Path) -> None:
    assert _lines(FileChunk(str(text_file))) == EXPECTED


def test_chunks_of_any_size_read_every_line_exactly_once(text_file: Path) -> None:
    # Every cut point falls once on each byte of the file: before, on and
    # after every newline, inside multi-byte characters and \r\n pairs.
    for size in range(1, len(TEXT.encode()) + 2):
        chunks = _cut(text_file, size)
        read = [line for chunk in chunks for line in _lines(chunk)]
        assert read == EXPECTED, f"chunks of {size} bytes"


def test_chunks_are_contiguous_and_the_last_is_open(text_file: Path) -> None:
    size = len(TEXT.encode())
    chunks = _cut(text_file, 10)
    assert chunks[0].start == 0
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert chunks[-1].end is None
    assert chunks[-1].start < size
    assert _cut(text_file, size) == [FileChunk(str(text_file))]
    assert list(split_file(str(text_file), None)) == [FileChunk(str(text_file))]


def test_a_file_that_ends_with_a_newline_has_no_empty_last_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\nb\n")
    assert [line for c in _cut(path, 1) for line in _lines(c)] == ["a", "b"]
    path.write_bytes(b"")
    assert _lines(FileChunk(str(path))) == []


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)],
)
def test_compressed_files_are_read_whole_and_transparently(
    tmp_path: Path, suffix: str, compress: object
) -> None:
    path = tmp_path / f"text.txt{suffix}"
    path.write_bytes(compress(TEXT.encode()))  # type: ignore[operator]
    assert _cut(path, 4) == [FileChunk(str(path))]
    assert _lines(FileChunk(str(path))) == EXPECTED


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le", "utf-8-sig", "cp500"])
def test_encodings_where_0x0a_is_not_a_newline_are_read_whole_as_text(
    tmp_path: Path, encoding: str
) -> None:
    assert not byte_splittable(encoding)
    snowman = " \u2603" if encoding != "cp500" else ""  # EBCDIC has no snowman
    path = tmp_path / "text.txt"
    path.write_bytes(TEXT.replace(" \u2603", snowman).encode(encoding))
    expected = [line.replace(" \u2603", snowman) for line in EXPECTED]
    assert _lines(FileChunk(str(path)), encoding) == expected
    with pytest.raises(InputError, match="is read whole"):
        _lines(FileChunk(str(path), 4, 20), encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1", "cp1252", "shift_jis"])
def test_ascii_compatible_encodings_are_split_in_bytes(encoding: str) -> None:
    assert byte_splittable(encoding)


def test_latin1_chunks_decode_as_latin1(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    lines = ["café", "naïve", "über"] * 20
    path.write_bytes("\n".join(lines).encode("latin-1"))
    read = [line for chunk in _cut(path, 7) for line in _lines(chunk, "latin-1")]
    assert read == lines


def test_a_line_that_does_not_decode_is_named_by_line_then_by_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\nfine\nbad \xff here\nok\n")
    with pytest.raises(InputError, match=r"bad\.txt line 3: not valid utf-8"):
        _lines(FileChunk(str(path)))
    with pytest.raises(InputError, match=r"bad\.txt, the line at byte 8: not valid utf-8"):
        _lines(FileChunk(str(path), 5, None))
    assert _lines(FileChunk(str(path)), "latin-1")[2] == "bad \u00ff here"
    assert list(LineSource(FileChunk(str(path)), errors="replace"))[2] == "bad \ufffd here"


def test_where_names_the_line_last_read(text_file: Path) -> None:
    source = LineSource(FileChunk(str(text_file)))
    iterator = iter(source)
    next(iterator)
    next(iterator)
    assert source.where() == f"{text_file} line 2"
    middle = LineSource(FileChunk(str(text_file), 3, None))
    first = next(iter(middle))
    assert first == ""  # the chunk starts at the empty second line (byte 7)
    assert middle.where() == f"{text_file}, the line at byte 7"


def test_missing_and_damaged_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read .*gone\.txt.*No such file"):
        _lines(FileChunk(str(tmp_path / "gone.txt")))
    fake = tmp_path / "fake.txt.gz"
    fake.write_bytes(b"not gzip at all\n")
    with pytest.raises(InputError, match=r"cannot read .*fake\.txt\.gz"):
        _lines(FileChunk(str(fake)))
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(gzip.compress(TEXT.encode() * 50)[:-30])
    with pytest.raises(InputError, match=r"cannot read .*cut\.txt\.gz"):
        _lines(FileChunk(str(truncated)))


def test_a_reading_stage_takes_chunks_or_paths() -> None:
    chunk = FileChunk("/data/x.txt", 3, 9)
    assert as_chunk(chunk) is chunk
    assert as_chunk("/data/x.txt") == FileChunk("/data/x.txt")
    assert as_chunk(Path("/data/x.txt")).whole
    with pytest.raises(InputError, match="takes a FileChunk or a file path, not int"):
        as_chunk(3)


def test_unknown_encodings_and_error_handlers_are_refused() -> None:
    assert check_encoding("UTF8") == "utf-8"
    with pytest.raises(ValueError, match="unknown text encoding 'klingon'"):
        check_encoding("klingon")
    with pytest.raises(ValueError, match="unknown encoding error handler 'loud'"):
        check_encoding("utf-8", "loud")


def test_a_text_file_that_does_not_decode_says_after_which_line(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("one\ntwo\n".encode("utf-16-le") + b"\x00\xd8")  # a lone surrogate
    with pytest.raises(InputError, match=r"wide\.txt after line \d+: not valid utf-16-le"):
        _lines(FileChunk(str(path)), "utf-16-le")
