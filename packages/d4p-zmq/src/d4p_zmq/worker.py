"""``python -m d4p_zmq.worker --connect tcp://driver:port``: join a
``zmq_multi`` run started elsewhere and host the instances the driver
assigns (``d4p worker zmq`` calls :func:`main` with the same arguments).

The worker loads the workflow the way the driver describes it (core's
:class:`~d4p_core.GraphPayload`): the pickled PEs, plus the workflow files
and import roots by path, so the workflow must be at the same path (or
importable as the same module) on this machine. It serves one run and exits.
"""

from __future__ import annotations

import argparse
import sys

from d4p_core import D4pError
from d4p_core.backend import run_worker_command

from ._auth import AUTH_KEY_ENV, Curve, new_auth_key, resolve_auth_key
from ._certificates import load_worker
from ._node import serve

__all__ = ["add_arguments", "main", "run_worker"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The worker's command-line options (also for ``d4p worker zmq``)."""
    parser.add_argument(
        "--connect",
        metavar="ENDPOINT",
        help="the driver's endpoint, e.g. tcp://driver-host:5555 (printed by the driver)",
    )
    parser.add_argument(
        "--auth-key",
        help=f"the run's auth key (default: ${AUTH_KEY_ENV}); prefer the variable, "
        "command lines are visible to other users",
    )
    parser.add_argument(
        "--certificates",
        metavar="DIR",
        help="this host's CURVE certificates (its NAME.key_secret and the driver's "
        "driver.key, made by 'python -m d4p_zmq keys'), instead of an auth key",
    )
    parser.add_argument(
        "--bind-host",
        default="0.0.0.0",
        help="interface to receive data on (default: all)",
    )
    parser.add_argument(
        "--advertise",
        metavar="HOST",
        help="host name or address other processes reach this worker at "
        "(default: this machine's address on the route to the driver)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the driver to answer (default 60)",
    )
    parser.add_argument("--slot", type=int, help=argparse.SUPPRESS)  # local workers
    parser.add_argument(
        "--new-key", action="store_true", help="print a new random auth key and exit"
    )


def run_worker(args: argparse.Namespace) -> int:
    """Run one worker from parsed arguments; returns the exit status."""
    if args.new_key:  # the result, on stdout (prints go to stderr in a worker)
        print(new_auth_key(), file=sys.__stdout__ or sys.stdout, flush=True)
        return 0
    if not args.connect:
        raise D4pError("give the driver's endpoint with --connect tcp://HOST:PORT")
    if not args.connect.startswith(("tcp://", "ipc://")):
        raise D4pError(f"--connect must be a tcp:// or ipc:// endpoint, not {args.connect!r}")
    return serve(
        args.connect,
        curve=_curve(args),
        slot=args.slot,
        bind_host=args.bind_host,
        advertise=args.advertise,
        timeout=args.timeout,
    )


def _curve(args: argparse.Namespace) -> Curve | None:
    """The keys from ``--certificates`` or else the auth key."""
    if args.certificates:
        if args.auth_key:
            raise D4pError("give --certificates or --auth-key, not both")
        return load_worker(args.certificates)
    key = resolve_auth_key(args.auth_key)
    return Curve.from_key(key) if key is not None else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m d4p_zmq.worker", description="Join a d4p zmq_multi run."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_worker_command(parser.prog, lambda: run_worker(args))


if __name__ == "__main__":
    sys.exit(main())
