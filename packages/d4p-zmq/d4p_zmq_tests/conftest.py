"""Shared fixtures: a private temporary directory for every run's ipc
endpoints (for this process and the drivers and workers it starts), so a
test can check that nothing is left in it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SHORT = 40
"""Longest temporary directory the private one is made in: a socket path
has at most 107 characters, and pytest's own directories are long."""


@pytest.fixture
def private_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Where ``tempfile`` (and so the run's ipc directory) puts files, here
    and in child processes (``TMPDIR``); removed afterwards."""
    tmp_path_factory.getbasetemp()  # pytest's own, made before tempfile is redirected
    base = tempfile.gettempdir()
    base = base if len(base) <= _SHORT else "/tmp"
    directory = Path(tempfile.mkdtemp(prefix="d4p-zt-", dir=base))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    monkeypatch.setenv("TMPDIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def clean_tmp(private_tmp: Path, no_leftover_temp_files: None) -> Iterator[Path]:
    """A private temporary directory that must be as empty after the test
    as before (core's ``no_leftover_temp_files`` watches it)."""
    yield private_tmp
    assert list(private_tmp.iterdir()) == []
