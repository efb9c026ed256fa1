"""``d4p worker BACKEND``: dispatch to the backends' ``d4p.workers`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from d4p_cli import _cmd_worker, main

from ._helpers import error_line

STUB = EntryPoint(name="stub", value="d4p_cli_tests.worker_stub", group=_cmd_worker.WORKER_GROUP)


@pytest.fixture
def stub_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cmd_worker, "_installed", lambda: {"stub": STUB})


@pytest.mark.usefixtures("stub_installed")
def test_the_backends_main_gets_the_rest_of_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "stub", "--connect", "tcp://driver:5555"]) == 0
    assert capsys.readouterr().out == "joined tcp://driver:5555\n"


@pytest.mark.usefixtures("stub_installed")
def test_a_workers_error_is_one_line_and_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "stub", "--connect", "nowhere"]) == 7
    assert "cannot reach nowhere" in error_line(capsys.readouterr().err)


@pytest.mark.usefixtures("stub_installed")
def test_help_lists_the_installed_workers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--help"])
    assert exited.value.code == 0
    assert "stub       from ?" in capsys.readouterr().out


def test_an_unknown_backend_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_cmd_worker, "_installed", dict)
    assert main(["worker", "redis", "--connect", "x"]) == 5
    line = error_line(capsys.readouterr().err)
    assert "install d4p-redis" in line and "installed workers: none" in line


@pytest.mark.usefixtures("stub_installed")
def test_a_bad_worker_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "stub", "--bogus"])
    assert exited.value.code == 64
    assert "d4p worker stub" in capsys.readouterr().err


def test_no_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker"])
    assert exited.value.code == 64
    assert "BACKEND" in capsys.readouterr().err
