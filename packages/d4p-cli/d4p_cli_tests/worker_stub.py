"""A worker entry point for the dispatch tests of ``d4p worker``."""

from __future__ import annotations

import argparse

from d4p_core import ServiceUnavailableError


def main(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--connect", required=True)
    args = parser.parse_args(argv)
    if args.connect == "nowhere":
        raise ServiceUnavailableError(f"{prog}: cannot reach {args.connect}")
    print(f"{prog} joined {args.connect}")
    return 0
