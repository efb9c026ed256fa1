"""Shared fixtures of the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_module() -> Runner:
    """Run ``python -m d4p_cli run ARGS`` (the d4p command) in a fresh
    interpreter from the repo root."""

    def runner(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.pop("PYTHONHASHSEED", None)
        return subprocess.run(
            [sys.executable, "-m", "d4p_cli", "run", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )

    return runner
