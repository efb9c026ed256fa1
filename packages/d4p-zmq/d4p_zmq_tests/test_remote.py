"""Remote workers (``python -m d4p_zmq.worker``, started as separate
processes) joining a driver over authenticated tcp on loopback."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import time
from typing import Any

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from d4p_core import D4pError, RunError, run
from d4p_core.testing import assert_same_multisets
from d4p_core.testing.processes import child_processes, subprocess_env
from d4p_core.testing.workflows import build_word_count
from d4p_zmq import AUTH_KEY_ENV, new_auth_key

from ._pes import build_self_kill

KEY = new_auth_key()


def _worker(endpoint: str, key: str, *extra: str) -> subprocess.Popen[str]:
    env = subprocess_env(**{AUTH_KEY_ENV: key})
    command = [sys.executable, "-m", "d4p_zmq.worker", "--connect", endpoint]
    command += ["--bind-host", "127.0.0.1", "--timeout", "20", *extra]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _run_remote(graph: Any, processes: int, remote: int, **options: Any) -> Any:
    options.setdefault("worker_timeout", 30)
    return run(
        graph,
        "zmq_multi",
        inputs=100,
        processes=processes,
        remote_workers=remote,
        bind="tcp://127.0.0.1:0",
        **options,
    )


def _reap(workers: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    ended = []
    for worker in workers:
        _, err = worker.communicate(timeout=30)
        ended.append((worker.returncode, err))
    return ended


@pytest.mark.timeout(120)
def test_remote_workers_take_the_partitions_assigned_to_them() -> None:
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        assert endpoint.startswith("tcp://127.0.0.1:")
        workers.extend(_worker(endpoint, KEY) for _ in range(2))

    result = _run_remote(build_word_count(), 4, 2, auth_key=KEY, announce=announce)
    reference = run(build_word_count(), "simple", inputs=100)
    assert_same_multisets(result.outputs, reference.outputs)
    remote = [w for w in result.extra["workers"] if w["remote"]]
    assert sorted(w["pid"] for w in remote) == sorted(p.pid for p in workers)
    assert result.metrics["WordCounter1"].items_in == 100
    for code, err in _reap(workers):
        assert code == 0, err
    assert not child_processes()


@pytest.mark.timeout(60)
def test_a_killed_remote_worker_ends_the_run() -> None:
    workers: list[subprocess.Popen[str]] = []
    started = time.monotonic()
    with pytest.raises(RunError) as failure:
        _run_remote(
            build_self_kill(3),
            3,
            2,
            auth_key=KEY,
            announce=lambda endpoint: workers.extend(_worker(endpoint, KEY) for _ in range(2)),
        )
    assert re.fullmatch(
        r"remote worker \d on \S+ \(hosting [^)]*KillSelfOn1\[0\][^)]*\) lost its connection "
        r"\(killed, or its host is unreachable\) before finishing",
        str(failure.value),
    ), failure.value
    assert time.monotonic() - started < 30
    _reap(workers)  # the other remote worker was told to stop, and did
    assert all(w.returncode is not None for w in workers)
    assert not child_processes()


@pytest.mark.timeout(60)
def test_a_worker_with_the_wrong_key_is_rejected_and_reported() -> None:
    workers: list[subprocess.Popen[str]] = []
    with pytest.raises(D4pError) as failure:
        _run_remote(
            build_word_count(),
            3,
            1,
            auth_key=KEY,
            worker_timeout=5,
            announce=lambda endpoint: workers.append(_worker(endpoint, new_auth_key())),
        )
    assert "only 0 of 1 remote worker" in str(failure.value)
    assert "rejected" in str(failure.value)
    ((code, err),) = _reap(workers)
    assert code == 7
    assert "rejected this worker" in err
    assert not child_processes()


def _intrude(endpoint: str) -> None:
    """A peer without the key (no CURVE at all) tries to join as a worker;
    returns once its handshake failed."""
    context = zmq.Context()
    try:
        dealer = context.socket(zmq.DEALER)
        monitor = dealer.get_monitor_socket()
        dealer.connect(endpoint)
        dealer.send_multipart([b"hello", pickle.dumps({"slot": None, "pid": 0, "host": "evil"})])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if monitor.poll(int((deadline - time.monotonic()) * 1000)):
                event = recv_monitor_message(monitor)["event"]
                assert event != zmq.EVENT_HANDSHAKE_SUCCEEDED
                if event in (zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                    break
        else:
            raise AssertionError("the unauthenticated peer was neither accepted nor rejected")
        dealer.disable_monitor()
        monitor.close(linger=0)
        dealer.close(linger=0)
    finally:
        context.term()


@pytest.mark.timeout(60)
def test_an_unauthenticated_peer_is_rejected_and_the_run_goes_on() -> None:
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        _intrude(endpoint)
        workers.append(_worker(endpoint, KEY))

    result = _run_remote(build_word_count(), 3, 1, auth_key=KEY, announce=announce)
    assert result.extra["rejected_connections"] >= 1
    assert all(w["host"] != "evil" for w in result.extra["workers"])
    assert len(result.outputs["WordCounter1"]["output"]) == 100
    for code, err in _reap(workers):
        assert code == 0, err


def test_worker_command_line_errors() -> None:
    env = dict(os.environ)
    env.pop(AUTH_KEY_ENV, None)
    completed = subprocess.run(
        [sys.executable, "-m", "d4p_zmq.worker", "--connect", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 7
    assert "give --certificates DIR or --auth-key, or set D4P_ZMQ_AUTH_KEY" in completed.stderr
    completed = subprocess.run(
        [sys.executable, "-m", "d4p_zmq.worker", "--new-key"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0
    assert len(completed.stdout.strip()) >= 32
