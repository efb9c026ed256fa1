"""A private server starts however deep the temporary directory is (a unix
socket path must fit 104-108 bytes: macOS's TMPDIR, a test's own)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import redis

from d4p_redis import PrivateServer


def test_a_deep_temporary_directory_still_gives_a_working_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("nested-" * 12)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    server = PrivateServer().start()
    try:
        assert len(server.socket) <= 100
        assert server.url.startswith("unix://")
        assert redis.Redis(unix_socket_path=server.socket).ping()
    finally:
        server.stop()
    assert not os.path.exists(server.directory)
