"""Fixtures: run the CLI in a fresh interpreter; a test-only distribution
that registers mappings through a real ``d4p.mappings`` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
DISPEL4PY_WORKFLOWS = HERE / "dispel4py_workflows"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]

TEST_MAPPINGS = '''
"""Test-only mappings, registered by a temporary dist-info directory."""

from __future__ import annotations

import argparse
import socket
from typing import Any, ClassVar

from d4p_core import SimpleMapping, SimpleOptions, UnsupportedGraphError
from d4p_core.backend import Plan


class EchoMapping(SimpleMapping):
    name: ClassVar[str] = "test_echo"
    supports_stateful: ClassVar[bool] = False
    description: ClassVar[str] = "test-only mapping from a temporary distribution"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--greeting", default="hello", help="a test-only option")

    def options_from_args(self, args: argparse.Namespace) -> SimpleOptions:
        assert args.greeting in ("hello", "hi"), args.greeting
        return SimpleOptions()

    def check(self, plan: Plan) -> None:
        if plan.stateful:
            names = ", ".join(sorted(plan.stateful))
            raise UnsupportedGraphError(f"test_echo cannot run stateful PEs ({names})")

    def run(self, graph: Any, inputs: Any, options: SimpleOptions) -> Any:
        self.check(Plan.build(graph))
        return super().run(graph, inputs, options)


class UnreachableMapping(SimpleMapping):
    name: ClassVar[str] = "test_unreachable"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "connects to a port nothing listens on"

    def run(self, graph: Any, inputs: Any, options: SimpleOptions) -> Any:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        raise AssertionError("connected to a closed port")
'''


@pytest.fixture(scope="session")
def test_distribution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``d4p_cli_test_mapping.py`` and its ``.dist-info``."""
    root = tmp_path_factory.mktemp("site")
    (root / "d4p_cli_test_mapping.py").write_text(TEST_MAPPINGS)
    info = root / "d4p_cli_test_mapping-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: d4p-cli-test-mapping\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [d4p.mappings]
            test_echo = d4p_cli_test_mapping:EchoMapping
            test_unreachable = d4p_cli_test_mapping:UnreachableMapping
            """
        )
    )
    return root


def _run(
    args: tuple[str, ...], *, pythonpath: Path | None, env_extra: dict[str, str] | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONHASHSEED", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [env.get("PYTHONPATH")])]
        )
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "d4p_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.fixture
def d4p() -> Runner:
    """Run ``python -m d4p_cli ARGS`` from the repository root."""

    def runner(
        *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
    ) -> subprocess.CompletedProcess[str]:
        return _run(args, pythonpath=None, env_extra=env, cwd=cwd)

    return runner


@pytest.fixture
def d4p_with_test_mappings(test_distribution: Path) -> Runner:
    """Like ``d4p``, with the test-only distribution on ``PYTHONPATH``."""

    def runner(*args: str) -> subprocess.CompletedProcess[str]:
        return _run(args, pythonpath=test_distribution, env_extra=None, cwd=REPO)

    return runner
