"""What mpiexec and the ranks find in their environment: hwloc pointed into
the job directory (so Hydra writes no file in /tmp), and taken out again for
the rank; a user's own HWLOC_XMLFILE is left alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from d4p_mpi._environment import HWLOC_XMLFILE, launcher_environment, restore_for_rank


def test_hydra_is_pointed_into_the_job_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(HWLOC_XMLFILE, raising=False)
    env = launcher_environment(tmp_path)
    assert Path(env[HWLOC_XMLFILE]).parent == tmp_path
    assert not Path(env[HWLOC_XMLFILE]).exists()  # never written: hwloc probes the host
    monkeypatch.setenv(HWLOC_XMLFILE, env[HWLOC_XMLFILE])
    restore_for_rank(tmp_path)
    assert HWLOC_XMLFILE not in os.environ


def test_the_users_topology_file_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HWLOC_XMLFILE, "/site/topology.xml")
    assert launcher_environment(tmp_path)[HWLOC_XMLFILE] == "/site/topology.xml"
    restore_for_rank(tmp_path)
    assert os.environ[HWLOC_XMLFILE] == "/site/topology.xml"
