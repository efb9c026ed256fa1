"""Worker processes of Redis runs: the driver's local ones, and external
ones that join a running run.

Started by the driver for its local workers, or by hand on any machine that
can reach the Redis server and import the workflow::

    python -m d4p_redis.worker --redis-url redis://host:6379/0 [--run RUN_ID]

(what ``d4p worker redis`` runs). It joins a running ``dyn_redis``,
``dyn_auto_redis`` or ``hybrid_redis`` run, loads the workflow the driver
stored in Redis, refuses to work on a different version of it (graph
fingerprint), takes tasks until the run ends (or the driver retires it:
exit status 0) and exits. Stopped by Ctrl-C or SIGTERM, it first hands back
the tasks it holds (any other worker takes them at once) and stops sending
heartbeats, so the driver counts it out within a check.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from d4p_core import D4pError, GenericPE, ServiceUnavailableError
from d4p_core.backend import (
    PEFailure,
    Report,
    crash_text,
    parent_gone,
    run_worker_command,
    sigterm_ends_the_run,
)

from ._channel import Channel, Stop
from ._codec import Codec, ForgedMessage, auth_key_from
from ._dynamic_worker import run_dynamic_source, run_dynamic_worker
from ._fixed_worker import run_fixed_worker
from ._keys import RunKeys
from ._server import ENV_URL, connect, redis_url
from ._session import RunGone, RunSpec, Session, fingerprint

__all__ = [
    "RunVanished",
    "WorkerRefused",
    "add_worker_arguments",
    "find_runs",
    "join_run",
    "local_main",
    "main",
    "run_from_args",
    "run_worker",
]

SOURCE = -1
PROG = "d4p worker redis"


class WorkerRefused(D4pError):
    """This worker cannot take part in the run (other workflow version...)."""

    exit_code = 6


class RunVanished(D4pError):
    """The run this worker joined is gone before it told the worker to stop:
    its driver ended it (a failure, Ctrl-C) or died and its lease ran out.
    Nothing is left for the worker to do, so it is no failure of the worker
    (exit status 0)."""

    exit_code = 0


def load_checked(session: Session, spec: RunSpec) -> dict[str, GenericPE]:
    """The run's PEs, loaded here; refused if this workflow is another version."""
    pes = spec.payload.load()
    if fingerprint(pes, spec.plan) != spec.fingerprint:
        raise WorkerRefused(
            f"the workflow here differs from the one run {session.keys.run_id} runs "
            "(graph fingerprint mismatch): use the same version of the workflow on every machine"
        )
    return pes


def _serve(
    session: Session,
    spec: RunSpec,
    pes: dict[str, GenericPE],
    role: str,
    index: int,
    orphaned: Callable[[], bool],
) -> bool:
    """Run the role; False when the run vanished before this process was
    done (the driver ended it, or died and its lease ran out)."""
    channel = Channel(session, spec, index, orphaned)
    try:
        if role == "source":
            run_dynamic_source(channel, pes)
        elif role == "fixed":
            run_fixed_worker(channel, pes, index)
        else:
            channel.watch(index)
            run_dynamic_worker(channel, pes, index)
    except PEFailure as failure:
        channel.discard()
        channel.reporter.failed(failure.info)
        with contextlib.suppress(RunGone):
            channel.commit()
    except (Stop, RunGone):
        return False
    return True


def local_main(
    url: str,
    run_id: str,
    role: str,
    index: int,
    serializer: str,
    auth_key: bytes | None,
) -> None:
    """Body of a worker process the driver started (under core's
    ``LocalProcesses``, which ties it to the driver and ignores Ctrl-C in it:
    the driver stops its workers)."""
    session: Session | None = None
    try:
        session = Session(connect(url), run_id, Codec(serializer, auth_key))
        spec = session.load_spec()
        # The driver's own workers run the code it started with; the
        # fingerprint guards workers that join from elsewhere.
        pes = spec.payload.load()
        _serve(session, spec, pes, role, index, parent_gone)
    except (KeyboardInterrupt, RunGone, Stop):
        pass
    except BaseException as exc:  # noqa: BLE001 - reported to the driver
        if session is not None:
            # If even this fails, the exit status still tells.
            with contextlib.suppress(Exception):
                session.report(Report.CRASHED.value, index, crash_text(exc))
        sys.exit(1)


def find_runs(session_client: redis.Redis) -> list[str]:
    """Run ids of the runs on this server that take workers."""
    runs = []
    for key in session_client.scan_iter(match="d4p:{*}:spec", count=1000):
        name = key.decode()
        run_id = name[len("d4p:{") : -len("}:spec")]
        if not session_client.exists(RunKeys(run_id).closing):
            runs.append(run_id)
    return sorted(runs)


def _wait_for_run(client: redis.Redis, run_id: str | None, wait: float) -> tuple[str, bytes]:
    deadline = time.monotonic() + wait
    while True:
        if run_id is None:
            runs = find_runs(client)
            if len(runs) > 1:
                raise D4pError(
                    f"several runs take workers, choose one with --run: {', '.join(runs)}"
                )
            found = runs[0] if runs else None
        else:
            found = run_id
        raw: Any = client.get(RunKeys(found).spec) if found is not None else None
        if found is not None and raw is not None:
            return found, raw
        if time.monotonic() >= deadline:
            what = "no d4p run takes workers" if run_id is None else f"no run {run_id!r}"
            raise ServiceUnavailableError(f"{what} on this Redis")
        time.sleep(0.05)


def join_run(
    url: str,
    run_id: str | None = None,
    auth_key: str | bytes | None = None,
    wait: float = 0.0,
) -> int:
    """Join a running dynamic run as an external worker (waiting up to
    ``wait`` seconds for it to start); returns the worker's slot when the run
    ends. Raises a D4pError if it cannot join, :class:`RunVanished` if the
    run disappeared before it ended the worker."""
    client = connect(url)
    try:
        run_id, raw = _wait_for_run(client, run_id, wait)
        key = auth_key_from(auth_key)
        try:
            spec: RunSpec = Codec("pickle", key).decode_pickle(raw)
        except ForgedMessage as exc:
            raise WorkerRefused(
                f"the description of run {run_id} is not signed with our key ({exc}); "
                "pass the run's --auth-key"
            ) from None
        if spec.kind != "dynamic":
            raise WorkerRefused(f"run {run_id} ({spec.mapping}) does not take extra workers")
        session = Session(client, run_id, Codec(spec.serializer, key))
        pes = load_checked(session, spec)
        slot = session.register(int(spec.heartbeat * 5000))
        if slot == -1:
            raise WorkerRefused(f"run {run_id} is finishing and takes no more workers")
        try:
            with sigterm_ends_the_run():
                served = _serve(session, spec, pes, "worker", slot, lambda: False)
        except (KeyboardInterrupt, SystemExit):
            _leave(url, session, slot)
            raise
        if not served:
            raise RunVanished(
                f"run {run_id} is gone (its driver ended it, or died and its keys expired); "
                "this worker stops"
            )
        return slot
    finally:
        client.close()


def _leave(url: str, session: Session, slot: int) -> None:
    """An external worker stopped from outside: hand back its unacknowledged
    tasks and end its heartbeat (on a new connection: the old one may be
    in the middle of a command). Best effort: if Redis cannot be reached,
    the driver hands them back once the heartbeat lapses."""
    with contextlib.suppress(redis.RedisError, RunGone):
        client = connect(url)
        try:
            Session(client, session.keys.run_id, session.codec).leave(slot)
        finally:
            client.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m d4p_redis.worker`` (and ``d4p worker redis``)."""
    parser = argparse.ArgumentParser(
        prog="d4p worker redis", description="join a running d4p Redis run as a worker"
    )
    add_worker_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", help=f"the run's Redis (default: ${ENV_URL})")
    parser.add_argument("--run", help="the run id to join (default: the only running one)")
    parser.add_argument("--auth-key", help="the run's authentication key (or D4P_REDIS_AUTH_KEY)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for the run to start (0: it must be running)",
    )


def run_worker(args: argparse.Namespace) -> int:
    """Join the run the parsed options name (``d4p worker redis``); errors are
    raised as :class:`D4pError` for the caller to report."""
    url = redis_url(args.redis_url)
    if url is None:
        raise ServiceUnavailableError(f"give --redis-url or set {ENV_URL}")
    try:
        join_run(url, args.run, args.auth_key, args.wait)
    except RunVanished as gone:
        print(f"{PROG}: {gone}", file=sys.stderr)
    return 0


def run_from_args(args: argparse.Namespace) -> int:
    """:func:`run_worker` for ``python -m d4p_redis.worker``: errors become one
    line on stderr and the exit code."""
    return run_worker_command(PROG, lambda: run_worker(args))
