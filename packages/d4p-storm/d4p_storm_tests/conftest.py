"""A real Storm LocalCluster for the tests: the launcher is built once with
Maven (``mvn -q package``, downloads cached in ~/.m2, build cached by
d4p-storm) and one detached LocalCluster JVM (with a Nimbus Thrift server) serves
every test of the session."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest

from d4p_storm import LocalStorm, build_launcher


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
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def nimbus_address(storm_cluster: LocalStorm) -> str:
    assert storm_cluster.nimbus_port is not None
    return f"127.0.0.1:{storm_cluster.nimbus_port}"
