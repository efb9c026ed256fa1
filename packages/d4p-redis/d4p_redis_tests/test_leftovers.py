"""The suite's own guard: a test that leaves a run's key on the test server
fails; a clean one passes (the guard is this package's conftest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from d4p_core.testing.processes import subprocess_env

ROOT = str(Path(__file__).resolve().parent.parent)

TESTS = """
import redis


def test_clean(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set("not-a-run-key", 1)
    client.delete("not-a-run-key")
    client.close()


def test_leaky(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set("d4p:{leaky}:spec", 1)
    client.close()
"""


def test_a_test_leaving_keys_fails(tmp_path: Path) -> None:
    (tmp_path / "test_guarded.py").write_text(TESTS)
    outcome = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "d4p_redis_tests.conftest",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_guarded.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(ROOT),
        timeout=120,
    )
    assert outcome.returncode == 1, outcome.stdout + outcome.stderr
    assert "2 passed, 1 error" in outcome.stdout, outcome.stdout
    assert "ERROR at teardown of test_leaky" in outcome.stdout
    assert "keys left on the server after the test: ['d4p:{leaky}:spec']" in outcome.stdout
