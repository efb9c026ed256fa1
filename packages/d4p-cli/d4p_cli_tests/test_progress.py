"""The live progress line appears only on a terminal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from d4p_cli._progress import Progress
from d4p_cli_tests.conftest import REPO

pty = pytest.importorskip("pty")


def _run_with_terminal_stderr(*args: str) -> tuple[int, str, str]:
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "d4p_cli", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
        )
        os.close(secondary)
        stdout, _ = process.communicate(timeout=120)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    return process.returncode, stdout, b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_line_on_a_terminal() -> None:
    code, stdout, stderr = _run_with_terminal_stderr("run", "simple", "examples/wordcount.py")
    assert code == 0, stderr
    assert "on simple" in stderr
    assert "result(s)" in stderr
    assert stdout.count("\n") == 1


def test_progress_line_shows_throughput_and_items_per_pe() -> None:
    """What core's progress listener reports ends up on the line (core's
    delivery of reports during a run is tested in d4p_core_tests)."""
    with open(os.devnull, "w") as sink:
        progress = Progress(sink, "running wf.py on multi")
        assert "items/s" not in progress.line(1.0)  # nothing reported yet
        progress.update({"RandomWord0": 300, "CountWords1": 200})
        line = progress.line(2.0)
    assert "running wf.py on multi" in line
    assert "250 items/s" in line
    assert "RandomWord0=300" in line
    assert "CountWords1=200" in line


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_quiet_has_no_progress_line() -> None:
    code, _, stderr = _run_with_terminal_stderr("run", "simple", "examples/wordcount.py", "--quiet")
    assert code == 0, stderr
    assert stderr == ""
