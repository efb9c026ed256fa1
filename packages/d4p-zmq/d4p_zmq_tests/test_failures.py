"""Failures end the run quickly with RunError; nothing is left behind
(processes, ipc socket files, listening ports)."""

from __future__ import annotations

import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from d4p_core import D4pError, RunError, run
from d4p_core.testing import build_failing
from d4p_core.testing.processes import child_processes
from d4p_core.testing.workflows import build_pipeline
from d4p_zmq import ZmqOptions

from ._pes import build_self_kill


def _port_is_free(endpoint: str) -> bool:
    port = int(endpoint.rsplit(":", 1)[1])
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_a_raising_pe_names_itself_and_leaves_nothing(transport: str, clean_tmp: Path) -> None:
    with pytest.raises(RunError) as failure:
        run(build_failing("process"), "zmq_multi", inputs=5, processes=4, transport=transport)
    assert failure.value.pe_id == "Failing2"
    assert "Failing2" in str(failure.value)
    assert not child_processes()
    assert list(clean_tmp.iterdir()) == []  # the ipc directory and its sockets are gone


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_a_killed_worker_ends_the_run(transport: str, clean_tmp: Path) -> None:
    with pytest.raises(RunError) as failure:
        run(build_self_kill(3), "zmq_multi", inputs=50, processes=3, transport=transport)
    # core's wording, the worker named by the PEs it hosted
    assert re.fullmatch(
        r"worker \d \(hosting [^)]*KillSelfOn1\[0\][^)]*\) was killed by signal SIGKILL "
        r"before finishing",
        str(failure.value),
    ), failure.value
    assert not child_processes()
    assert list(clean_tmp.iterdir()) == []


def test_ports_are_released_after_a_tcp_run() -> None:
    result = run(build_pipeline(), "zmq_multi", inputs=20, processes=4, transport="tcp")
    assert result.extra["transport"] == "tcp"
    assert _port_is_free(result.extra["endpoint"])
    assert not child_processes()


def test_ipc_run_removes_its_directory(clean_tmp: Path) -> None:
    result = run(build_pipeline(), "zmq_multi", inputs=20, processes=4)
    assert result.extra["endpoint"].startswith(f"ipc://{clean_tmp}/")
    assert list(clean_tmp.iterdir()) == []


def test_a_temporary_directory_too_long_for_sockets_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with pytest.raises(D4pError, match="set TMPDIR to a shorter one, or use --transport tcp"):
        run(build_pipeline(), "zmq_multi", inputs=1, processes=2)
    assert list(deep.iterdir()) == []
    assert not child_processes()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"transport": "udp"}, "transport must be ipc or tcp"),
        ({"remote_workers": 1, "transport": "ipc"}, "need the tcp transport"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"auth_key": "short"}, "at least 16 characters"),
        ({"bind": "127.0.0.1:5555"}, "must be a tcp:// endpoint"),
        ({"no_such_option": 1}, "invalid option for zmq_multi"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(D4pError, match=message):
        run(build_pipeline(), "zmq_multi", inputs=1, processes=2, **options)


def test_more_remote_workers_than_partitions_is_an_error() -> None:
    with pytest.raises(D4pError, match="only 2 partitions"):
        run(build_pipeline(), "zmq_multi", inputs=1, processes=2, remote_workers=3)


@pytest.mark.timeout(30)
def test_missing_remote_workers_time_out_clearly() -> None:
    started = time.monotonic()
    with pytest.raises(D4pError, match="only 0 of 1 remote worker"):
        run(
            build_pipeline(),
            "zmq_multi",
            inputs=3,
            processes=3,
            remote_workers=1,
            bind="tcp://127.0.0.1:0",
            auth_key="k" * 20,
            worker_timeout=1,
        )
    assert time.monotonic() - started < 15
    assert not child_processes()


def test_options_hide_the_auth_key() -> None:
    assert "secret" not in repr(ZmqOptions(auth_key="secret-secret-secret"))
