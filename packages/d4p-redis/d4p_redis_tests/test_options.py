"""Command-line options of the four mappings."""

from __future__ import annotations

import argparse

import pytest

from d4p_core import load_mapping
from d4p_redis import RedisOptions


def _parse(mapping: str, argv: list[str]) -> RedisOptions:
    chosen = load_mapping(mapping)
    parser = argparse.ArgumentParser()
    chosen.add_arguments(parser)
    options = chosen.options_from_args(parser.parse_args(argv))
    assert isinstance(options, RedisOptions)
    return options


def test_dynamic_options() -> None:
    options = _parse(
        "dyn_redis",
        [
            "--redis-url=redis://h/1",
            "--workers=0",
            "--read-count=1",
            "--claim-idle=2.5",
            "--on-error=continue",
            "--max-attempts=3",
            "--serializer=json",
            "--backlog=10",
            "--run-id=abc",
            "--lease=5",
            "--wait-workers=120",
        ],
    )
    assert options.redis_url == "redis://h/1"
    assert options.workers == 0
    assert (options.read_count, options.claim_idle, options.max_attempts) == (1, 2.5, 3)
    assert (options.on_error, options.serializer, options.backlog) == ("continue", "json", 10)
    assert options.run_id == "abc"
    assert (options.lease, options.wait_workers) == (5.0, 120.0)
    assert options.batch_size is None


def test_autoscale_and_fixed_options() -> None:
    auto = _parse("dyn_auto_redis", ["--min-workers=1", "--max-workers=3"])
    assert (auto.min_workers, auto.max_workers) == (1, 3)
    fixed = _parse("redis", ["--fuse=never", "--batch-size=32", "--auth-key=s3cr3t-key"])
    assert (fixed.fuse, fixed.batch_size, fixed.auth_key) == ("never", 32, "s3cr3t-key")
    assert "s3cr3t" not in repr(fixed)


@pytest.mark.parametrize("argv", [["--on-error=skip"], ["--serializer=xml"]])
def test_bad_choices(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("dyn_redis", argv)


def test_bad_run_id() -> None:
    from d4p_core import D4pError

    with pytest.raises(D4pError, match="run id"):
        RedisOptions(run_id="a:b*")


@pytest.mark.parametrize(
    ("bad", "message"),
    [({"wait_workers": 0}, "wait_workers must be positive"), ({"lease": 0.5}, "lease must be")],
)
def test_bad_lease_and_wait(bad: dict[str, float], message: str) -> None:
    from d4p_core import D4pError

    with pytest.raises(D4pError, match=message):
        RedisOptions(**bad)  # type: ignore[arg-type]
