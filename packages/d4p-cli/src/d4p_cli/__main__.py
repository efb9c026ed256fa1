"""``python -m d4p_cli``: the ``d4p`` command (also accepts dispel4py command lines)."""

from __future__ import annotations

import sys

from ._app import main

if __name__ == "__main__":
    sys.exit(main())
