"""``watch_child``: the watcher learns how its child ended."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import pytest

from d4p_core.backend import watch_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(autouse=True)
def _keep_sigint() -> Iterator[None]:
    # The watcher (this test process) ignores SIGINT while it waits.
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def _never_returns(code: int | None = None) -> int:
    """The child's work: it must never return into the test process."""
    if code is None:
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdout.flush()
    os._exit(code if code is not None else 1)


def test_a_child_killed_by_a_signal() -> None:
    seen: list[int] = []
    status = watch_child(_never_returns, seen.append)
    assert seen == [-signal.SIGKILL]
    assert status == 128 + signal.SIGKILL


def test_a_child_exiting_with_a_status() -> None:
    seen: list[int] = []
    status = watch_child(lambda: _never_returns(3), seen.append, in_watcher=lambda: seen.append(0))
    assert seen == [0, 3]
    assert status == 3
