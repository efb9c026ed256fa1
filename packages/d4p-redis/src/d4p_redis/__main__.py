"""``python -m d4p_redis gc [--redis-url URL] [--delete] [--run RUN_ID] [--force]``."""

from __future__ import annotations

import sys

from .commands import main

if __name__ == "__main__":
    sys.exit(main())
