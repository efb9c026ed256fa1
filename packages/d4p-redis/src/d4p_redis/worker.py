"""``python -m d4p_redis.worker --redis-url URL [--run RUN_ID]``: join a
running ``dyn_redis`` / ``dyn_auto_redis`` / ``hybrid_redis`` run as a worker
(what ``d4p worker redis`` runs). See :func:`d4p_redis.join_run`."""

from __future__ import annotations

import sys

from ._join import add_worker_arguments, main, run_from_args

__all__ = ["add_worker_arguments", "main", "run_from_args"]

if __name__ == "__main__":
    sys.exit(main())
