"""Run the test suite for CI; treat "no tests collected" and leftovers in the
temporary directory as failures.

First the editable workspace install is brought in step with the packages'
metadata (``workspace.py``): an environment hatch made before a commit that
moved an entry point or added a dependency would otherwise test stale
metadata.

pytest exits 5 when it collects nothing. For this repository that can only
mean the test paths or the workspace install are broken, so it must fail CI
loudly instead of passing silently.

The session runs with a private ``TMPDIR`` (``temp_space.py``): anything
left in it is a leak and fails the run; a new entry in the system temporary
directory fails it where ``CI`` is set (``.ci/run`` sets it) and is reported
elsewhere (on a workstation other programs write there too).
"""

from __future__ import annotations

import os
import subprocess
import sys

from temp_space import private_temp_dir
from workspace import sync

NO_TESTS_COLLECTED = 5


def main(argv: list[str]) -> int:
    sync()
    leaks: list[str] = []
    with private_temp_dir(leaks) as private:
        # In a child process, so that everything it leaves is checked after
        # its exit handlers (multiprocessing removes its own folders then).
        code = subprocess.run([sys.executable, "-m", "pytest", *argv], check=False).returncode
    if code == NO_TESTS_COLLECTED:
        print("CI: pytest collected no tests; the test paths or the install are broken")
        return 1
    ours = [leak for leak in leaks if leak.startswith(str(private))]
    system = [leak for leak in leaks if leak not in ours]
    for leak in leaks:
        print(f"CI: the tests left {leak} behind", file=sys.stderr)
    if ours or (system and os.environ.get("CI")):
        return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
