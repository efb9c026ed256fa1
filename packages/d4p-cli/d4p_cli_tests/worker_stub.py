"""A worker entry point for the dispatch tests of ``d4p worker``."""

from __future__ import annotations

import argparse

from d4p_core import ServiceUnavailableError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connect", required=True)


def run_worker(args: argparse.Namespace) -> int:
    if args.connect == "nowhere":
        raise ServiceUnavailableError(f"cannot reach {args.connect}")
    print(f"joined {args.connect}")
    return 0
