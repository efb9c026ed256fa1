"""``python -m d4p_storm build``: build the LocalCluster launcher (Maven)."""

from __future__ import annotations

import sys

from .launcher import build_launcher


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m d4p_storm build", file=sys.stderr)
        return 2
    classpath, _ = build_launcher()
    print(classpath.split(":", 1)[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
