"""d4p's pytest plugin (registered as a ``pytest11`` entry point, so any
test session with d4p-core installed has it).

* Marks ``slow`` the conformance workflows and clauses a
  :class:`MappingConformance` subclass leaves out of its ``quick_cases`` and
  ``quick_clauses``, so a fast tier
  (``-m "not slow"``) runs a portability subset of the spawn/forkserver
  suites and the full tier runs everything.
* Fixtures that fail a test which leaves something behind:
  ``no_leftover_processes`` (running children of the test process) and
  ``no_leftover_temp_files`` (new entries in the temporary directory);
  ``private_tmp`` (a temporary directory of the test's own, ``TMPDIR`` for
  it and every process it starts) and ``clean_tmp`` (the same, failing the
  test unless it is empty again at the end).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import child_processes, wait_gone

__all__ = ["clean_tmp", "no_leftover_processes", "no_leftover_temp_files", "private_tmp"]

_SHORT = 40
"""Longest directory a private one is made in: a unix socket path has at
most 107 bytes (ZeroMQ ipc endpoints, a private redis-server's socket),
and pytest's own directories are long."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running tests, left out of the fast tier")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from .conformance import MappingConformance

    for item in items:
        cls = getattr(item, "cls", None)
        if cls is None or not issubclass(cls, MappingConformance):
            continue
        clause = getattr(item, "originalname", item.name)
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if (cls.quick_clauses is not None and clause not in cls.quick_clauses) or (
            cls.quick_cases is not None and case is not None and case.name not in cls.quick_cases
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    """Fail the test if it leaves a child process running (after a short
    grace for processes that are already ending)."""
    before = set(child_processes())
    yield
    left = wait_gone(set(child_processes()) - before, timeout=5)
    assert not left, f"the test left processes running: {left}"


@pytest.fixture
def no_leftover_temp_files() -> Iterator[None]:
    """Fail the test if it leaves new entries in the temporary directory."""
    root = tempfile.gettempdir()
    before = set(os.listdir(root))
    yield
    added = sorted(set(os.listdir(root)) - before)
    assert not added, f"the test left entries in {root}: {added}"


@pytest.fixture
def private_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A temporary directory of the test's own: where ``tempfile`` puts
    files, here and (``TMPDIR``) in every process the test starts; short
    enough for socket paths; removed afterwards."""
    tmp_path_factory.getbasetemp()  # pytest's own, made before tempfile is redirected
    base = tempfile.gettempdir()
    directory = Path(tempfile.mkdtemp(prefix="d4p-t-", dir=base if len(base) <= _SHORT else "/tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    monkeypatch.setenv("TMPDIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def clean_tmp(private_tmp: Path) -> Iterator[Path]:
    """:func:`private_tmp`, which must be as empty after the test as before."""
    yield private_tmp
    left = sorted(path.name for path in private_tmp.iterdir())
    assert not left, f"the test left entries in its temporary directory: {left}"
