"""Driver of ``dyn_redis``, ``dyn_auto_redis`` and ``hybrid_redis``.

Core's :class:`~d4p_core.DynamicCoordinator` decides when the run is
quiescent (the in-flight counter kept in Redis is zero and the sources are
done), closes PEs one at a time in topological order and stops the workers;
the loop (:mod:`._dynamic_loop`) feeds it the workers' reports and delivers
its commands. Workers may join from other machines until the sources are
done; then the membership is sealed and every member takes part in closing.
A worker that dies is taken out: its unacknowledged tasks go to the others
and the coordinator no longer counts on it (``leave``).

``dyn_auto_redis`` is elastic (:mod:`._elastic_loop`): its policy starts a
local worker process to grow and retires one (local or external) to shrink.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from d4p_core.backend import DynamicCoordinator, DynamicLayout, DynamicRun, RunOutcome

from ._driver import Driver, open_run
from ._dynamic_loop import DynamicLoop
from ._elastic_loop import ElasticLoop
from ._join import SOURCE
from ._options import RedisOptions
from ._server import safe_url
from ._session import RunSpec

__all__ = ["run_dynamic"]


def run_dynamic(mapping: str, work: DynamicRun, options: RedisOptions) -> RunOutcome:
    """Run ``work`` with ``options.workers`` local workers (and any that join)."""
    local = options.workers
    if local is None:
        local = options.max_workers or options.processes or os.cpu_count() or 1
    min_workers = min(options.min_workers or 1, max(local, 1))
    layout = DynamicLayout.build(work.plan, local)
    spec = RunSpec.create(
        mapping,
        work.flat,
        work.plan,
        work.provided,
        options,
        stateless=layout.stateless,
        # One local worker holds the only copies, unless workers may join
        # (--workers 0): then copies are expected.
        state_copies=layout.stateless if local != 1 else (),
        pinned_owner=layout.pinned_owner,
    )
    policy = work.policy
    # Elastic (dyn_auto_redis): workers start and retire as the policy says.
    elastic = policy is not None
    with open_run(options, _describe(layout)) as driver:
        keys = driver.keys
        pinned = layout.pinned_instances
        first = 0 if elastic else local  # member ids handed out up front
        driver.lease.create(
            [keys.tasks, *(keys.instance(*a) for a in pinned)]
            + [keys.commands(slot) for slot in range(first)],
            {keys.members: first, keys.in_flight: 0, keys.completed: 0},
        )
        driver.publish(spec, pinned)
        if not local:
            _invite(driver, options)
        initial = policy.initial(min_workers, local) if policy and local else local
        loop: DynamicLoop
        if elastic:
            loop = ElasticLoop(driver, local, options.wait_workers)
            assert policy is not None
            loop.block_ms = max(1, min(loop.block_ms, int(policy.interval * 500)))
        else:
            loop = DynamicLoop(
                driver, set(layout.pinned_owner.values()), local, options.wait_workers
            )
        loop.coordinator = DynamicCoordinator(
            work.plan,
            local,
            in_flight=loop.in_flight,
            completed=loop.completed,
            send=loop.send,
            policy=policy,
            min_workers=min_workers,
            initial=initial,
            start=loop.start if isinstance(loop, ElasticLoop) else None,
            task_time=loop.task_time,
        )
        driver.start("source", SOURCE)
        for slot in range(initial):
            if isinstance(loop, ElasticLoop):
                loop.start(slot)
            else:
                driver.start("worker", slot)
        loop.run()
        extra = {
            **driver.extra(),
            **loop.coordinator.summary(),
            "local_workers": local,
            "dead_workers": sorted(loop.dead),
            "pinned": layout.describe(),
        }
        extra["processes_started"] = len(driver.processes.processes)  # the sources' too
        seconds = driver.process_seconds()
        if isinstance(loop, ElasticLoop):
            extra["external_workers"] = sorted(loop.joined)
            seconds += loop.external_seconds()
        return RunOutcome(
            driver.sink.outputs, driver.sink.metrics, extra, driver.errors, process_seconds=seconds
        )


def _invite(driver: Driver, options: RedisOptions) -> None:
    """With --workers 0, say on stderr how to start the workers the run waits for."""
    key = " --auth-key KEY" if driver.codec.auth_key else ""
    print(
        f"d4p: run {driver.keys.run_id} waits up to {options.wait_workers:g} s for workers: "
        f"d4p worker redis --redis-url {safe_url(driver.url)} --run {driver.keys.run_id}{key}",
        file=sys.stderr,
    )


def _describe(layout: DynamicLayout) -> Callable[[int], str]:
    """How errors name a worker: the sources, or a worker and its pinned instances."""

    def describe(index: int) -> str:
        if index == SOURCE:
            return "the sources"
        pinned = [f"{pe}[{i}]" for (pe, i), owner in layout.pinned_owner.items() if owner == index]
        return f"worker {index}" + (f" (hosting {', '.join(pinned)})" if pinned else "")

    return describe
