"""A real Storm LocalCluster for the tests: the launcher is built once with
Maven (``mvn -q package``, downloads cached in ~/.m2, build cached by
d4p-storm) and one detached LocalCluster JVM serves every test of the
session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from d4p_storm import LocalStorm, build_launcher


def _missing_tools() -> str | None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed: Storm LocalCluster tests need Java 17 and Maven"
    return None


@pytest.fixture(scope="session")
def launcher_built() -> None:
    reason = _missing_tools()
    if reason is not None:
        pytest.skip(reason)
    build_launcher()


@pytest.fixture(scope="session")
def storm_cluster(launcher_built: None) -> Iterator[LocalStorm]:
    cluster = LocalStorm(detach=True).start()
    try:
        yield cluster
    finally:
        cluster.close()
