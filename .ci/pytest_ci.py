"""Run the whole test suite for CI; treat "no tests collected" as a failure.

First the editable workspace install is brought in step with the packages'
entry points (``workspace.py``): an environment hatch made before a commit
that moved an entry point would otherwise test stale metadata.

pytest exits 5 when it collects nothing. For this repository that can only
mean the test paths or the workspace install are broken, so it must fail CI
loudly instead of passing silently.
"""

from __future__ import annotations

import sys

import pytest
from workspace import sync

NO_TESTS_COLLECTED = 5

if __name__ == "__main__":
    sync()
    code = int(pytest.main(sys.argv[1:]))
    if code == NO_TESTS_COLLECTED:
        print("CI: pytest collected no tests; the test paths or the install are broken")
        sys.exit(1)
    sys.exit(code)
