"""A real Storm LocalCluster for the tests: the launcher is built once with
Maven (``mvn -q package``, downloads cached in ~/.m2, build cached by
d4p-storm) and one detached LocalCluster JVM (with a Nimbus Thrift server) serves
every test of the session.

Nothing may be left in the temporary space: every test gets a ``TMPDIR`` of
its own (for this process and the drivers and JVMs it starts: core's
``clean_tmp``), empty again at the end, and ``/tmp`` must not gain
an entry a Storm JVM would write there (Java ignores ``TMPDIR``). The shared
JVM's scratch folder (in the session's ``TMPDIR``) must be gone once it is
closed."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_storm import LocalStorm, build_launcher

from .leftovers import SYSTEM_TMP, storm_entries


@pytest.fixture(autouse=True)
def nothing_left_behind(clean_tmp: Path) -> Iterator[None]:
    """The test's ``TMPDIR`` is empty again, and ``/tmp`` has no new entry
    of the kind a Storm JVM leaves there."""
    before = storm_entries()
    yield
    added = sorted(storm_entries() - before)
    assert not added, f"the test left Storm's files in {SYSTEM_TMP}: {added}"


def _missing_tools() -> str | None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        names = " and ".join(missing)
        return f"{names} not installed: the Storm LocalCluster tests need Java 17 and Maven"
    return None


@pytest.fixture(scope="session")
def launcher_built() -> None:
    reason = _missing_tools()
    if reason is not None:
        pytest.skip(reason)
    build_launcher()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def storm_cluster(launcher_built: None) -> Iterator[LocalStorm]:
    """One LocalCluster JVM (outside this process's children, so the
    conformance suite's leftover-process check stays meaningful), with a
    real Nimbus Thrift server for the ``--nimbus`` tests."""
    cluster = LocalStorm(detach=True, nimbus_port=_free_port()).start()
    scratch = cluster.scratch
    assert scratch is not None and scratch.is_dir()
    try:
        yield cluster
    finally:
        cluster.close()
    assert not scratch.exists(), f"the shared LocalCluster left {scratch} behind"


@pytest.fixture(scope="session")
def nimbus_address(storm_cluster: LocalStorm) -> str:
    assert storm_cluster.nimbus_port is not None
    return f"127.0.0.1:{storm_cluster.nimbus_port}"
