"""``RunResult.process_seconds`` of ``zmq_multi`` with remote workers only:
the driver starts no process, so what it reports is the remote workers'
time in the run, from joining to ``done``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from d4p_core import run
from d4p_core.testing import assert_same_multisets
from d4p_core.testing.processes import child_processes, subprocess_env
from d4p_core.testing.workflows import build_word_count
from d4p_zmq import AUTH_KEY_ENV, new_auth_key


@pytest.mark.timeout(120)
def test_remote_workers_count_from_joining_to_done() -> None:
    key = new_auth_key()
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        command = [sys.executable, "-m", "d4p_zmq.worker", "--connect", endpoint]
        command += ["--bind-host", "127.0.0.1", "--timeout", "20"]
        env = subprocess_env(**{AUTH_KEY_ENV: key})
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )

    result = run(
        build_word_count(),
        "zmq_multi",
        inputs=100,
        processes=2,
        remote_workers=2,
        bind="tcp://127.0.0.1:0",
        auth_key=key,
        announce=announce,
        worker_timeout=30,
    )
    for worker in workers:
        _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
    assert_same_multisets(result.outputs, run(build_word_count(), "simple", inputs=100).outputs)
    assert all(w["remote"] for w in result.extra["workers"])
    busy = sum(m.busy_seconds for m in result.metrics.values())
    # The PEs ran in the remote workers, within the span counted for them.
    assert 0 < busy <= result.process_seconds <= 2 * result.elapsed_seconds
    assert not child_processes()
