"""``python -m d4p_redis.worker --redis-url URL [--run RUN_ID]``: join a
running ``dyn_redis`` / ``dyn_auto_redis`` / ``hybrid_redis`` run as a worker
(what ``d4p worker redis`` runs). See :func:`d4p_redis.join_run`."""

from __future__ import annotations

import sys

from ._join import add_worker_arguments, main, run_from_args, run_worker

# What ``d4p worker redis`` (the d4p.workers entry point) calls.
add_arguments = add_worker_arguments

__all__ = ["add_arguments", "add_worker_arguments", "main", "run_from_args", "run_worker"]

if __name__ == "__main__":
    sys.exit(main())
