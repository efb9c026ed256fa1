"""The run report in a real headless Chromium: the page renders (a screenshot
of it holds far more than one of a blank page), its script runs to its end
with no error, and the browser logs nothing — no script error and no
blocked fetch (the page's policy forbids every fetch, so a reference to
anything outside the page would be logged)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli_tests._helpers import results
from d4p_core.testing.processes import wait_gone

Runner = Callable[..., "CompletedProcess[str]"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (1200, 1600)
BROWSER_TIMEOUT = 120
"""Only against a hung browser; a screenshot takes about a second."""


def _browser() -> str | None:
    return next(filter(None, (shutil.which(name) for name in BROWSERS)), None)


BROWSER = _browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on PATH (Debian: apt-get install chromium)"
)


def _scratch() -> str:
    """A private temporary directory with a short path: Chromium puts a Unix
    socket in it, and a socket path longer than 107 bytes is refused."""
    root = tempfile.gettempdir()
    return tempfile.mkdtemp(prefix="d4p-browser-", dir=root if len(root) < 40 else "/tmp")


@pytest.fixture
def browse(tmp_path: Path) -> Iterator[Callable[..., CompletedProcess[str]]]:
    """Run headless Chromium with a private profile, HOME and TMPDIR (so it
    leaves nothing behind in the real ones) on a local page."""
    profile = tmp_path / "browser"
    (profile / "home").mkdir(parents=True)
    scratch = _scratch()
    env = {
        **os.environ,
        "HOME": str(profile / "home"),
        "TMPDIR": scratch,
        "XDG_CONFIG_HOME": str(profile / "home"),
        "XDG_CACHE_HOME": str(profile / "home"),
    }
    shm_before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()

    def run(page: Path, *options: str) -> CompletedProcess[str]:
        assert BROWSER is not None
        command = [
            BROWSER,
            "--headless",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile / 'data'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
            *options,
            page.as_uri(),
        ]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses root otherwise
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=BROWSER_TIMEOUT,
            check=False,
        )

    try:
        yield run
    finally:
        left = wait_gone(_processes_using(str(profile)), timeout=10)
        shutil.rmtree(scratch)
    assert not left, f"Chromium processes still running: {left}"
    if os.path.isdir("/dev/shm"):
        added = sorted(set(os.listdir("/dev/shm")) - shm_before)
        assert not [name for name in added if "chrom" in name.lower()], added


def _processes_using(marker: str) -> set[int]:
    """Running processes whose command line names ``marker`` (Chromium's
    helpers are re-parented when it exits: they are not the test's children)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue  # ended meanwhile
        if marker.encode() in command:
            found.add(int(entry))
    return found


def _console(stderr: str) -> list[str]:
    """What the page logged: script errors, blocked fetches, console output."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def report(d4p: Runner, tmp_path: Path) -> Path:
    page = tmp_path / "run.html"
    completed = d4p(
        "run", "multi", "examples/wordcount.py", "-i", "300", "-n", "4", "--report", str(page)
    )
    assert completed.returncode == 0, completed.stderr
    assert len(results(completed.stdout)["CountWords1.output"]) == 300
    return page


def test_report_renders_in_headless_chromium(
    tmp_path: Path,
    no_leftover_processes: None,
    no_leftover_temp_files: None,
    report: Path,
    browse: Callable[..., CompletedProcess[str]],
) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>")
    shots = {}
    for page in (report, blank):
        shot = tmp_path / f"{page.stem}.png"
        completed = browse(page, f"--screenshot={shot}")
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert _console(completed.stderr) == []
        assert _png_size(shot) == WINDOW
        shots[page.stem] = shot.stat().st_size
    # Text, boxes and bars compress far worse than an empty white page.
    assert shots["run"] > 4 * shots["blank"], shots


def test_report_script_runs_and_the_dom_holds_the_workflow(
    tmp_path: Path,
    no_leftover_processes: None,
    no_leftover_temp_files: None,
    report: Path,
    browse: Callable[..., CompletedProcess[str]],
) -> None:
    completed = browse(report, "--dump-dom")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert _console(completed.stderr) == []
    dom = completed.stdout
    assert 'data-report-ready="yes"' in dom  # the script ran to its last line
    assert 'title="sort by this column"' in dom  # ... and set up the table
    for pe_id in ("RandomWord0", "CountWords1"):
        assert f'data-pe="{pe_id}"' in dom
    assert ">group_by[0]</text>" in dom
