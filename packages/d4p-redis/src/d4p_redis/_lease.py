"""A run's lease: its keys live only as long as its driver keeps renewing them.

The driver claims the run id with the ``lease`` key (``SET NX``, so two
drivers never share a run id), creates every key with the lease's lifetime
in the same atomic step, and renews all of them every third of the lease
(at least once a second) from its report loop. Keys that workers create later take the run's
remaining lifetime (see :mod:`._scripts`). A driver that is killed outright
stops renewing: within one lease its keys are gone from a shared server, and
its workers, finding the run gone, stop.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from d4p_core import D4pError, RunError

from . import _scripts
from ._keys import GROUP, RunKeys

__all__ = ["DEFAULT_LEASE", "MIN_LEASE", "Lease", "LeaseLost"]

DEFAULT_LEASE = 60.0  # seconds a dead driver's keys outlive it, at most
MIN_LEASE = 1.0  # the driver's loop must renew well within it
RENEWALS_PER_LEASE = 3  # at least; and at least once a second
MAX_RENEWAL_PERIOD = 1.0  # so a driver notices within a second that its keys are gone


class LeaseLost(RunError):
    """The run's keys are gone under a live driver: deleted by someone else
    (``python -m d4p_redis gc --force``), or expired because the driver did
    not renew them in time."""


class Lease:
    """The lease of one run, held by its driver."""

    def __init__(self, client: redis.Redis, keys: RunKeys, seconds: float) -> None:
        self.client = client
        self.keys = keys
        self.seconds = seconds
        self.ms = max(1, int(seconds * 1000))
        self.instances: tuple[tuple[str, int], ...] = ()
        self._renew = client.register_script(_scripts.RENEW)
        self.period = min(seconds / RENEWALS_PER_LEASE, MAX_RENEWAL_PERIOD)
        self._due = 0.0
        self._active = False

    def claim(self) -> None:
        """Take the run id, or refuse one that another run uses."""
        if not self.client.set(self.keys.lease, self.ms, nx=True, px=self.ms):
            raise D4pError(f"run id {self.keys.run_id!r} is in use on this Redis; choose another")
        if self.client.exists(self.keys.spec):  # a run that holds no lease key
            self.client.delete(self.keys.lease)
            raise D4pError(f"run id {self.keys.run_id!r} is in use on this Redis; choose another")

    def create(
        self,
        streams: Iterable[str] = (),
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Create streams (with the run's consumer group) and values, each
        with the lease's lifetime, in one atomic step: a driver killed at
        any moment leaves no key that never expires."""
        pipe = self.client.pipeline(transaction=True)
        for stream in streams:
            pipe.xgroup_create(stream, GROUP, id="0", mkstream=True)
            pipe.pexpire(stream, self.ms)
        for key, value in (values or {}).items():
            pipe.set(key, value, px=self.ms)
        pipe.execute()

    def publish(self, spec: bytes, instances: Iterable[tuple[str, int]]) -> None:
        """Store the run description (workers may join from now on) and
        start renewing; ``instances``: the PE instances with streams."""
        self.instances = tuple(instances)
        self.client.set(self.keys.spec, spec, px=self.ms)
        self._active = True
        self._due = time.monotonic() + self.period

    def renew_if_due(self) -> None:
        """Renew every key of the run when :attr:`period` has passed;
        :class:`LeaseLost` if the keys are gone."""
        if not self._active:
            return
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + self.period
        keys = self.keys.leased(self.instances)
        if not int(self._renew(keys=keys, args=[self.ms, self.keys.command_prefix])):
            self._lost()

    def verify(self) -> None:
        """:class:`LeaseLost` if the run's keys are gone (workers that found
        them gone stop, which must not read as a worker's failure)."""
        if self._active and not self.client.exists(self.keys.spec):
            self._lost()

    def _lost(self) -> None:
        self._active = False
        raise LeaseLost(
            f"the keys of run {self.keys.run_id} are gone from Redis: deleted by someone "
            f"else, or expired because the driver did not renew its {self.seconds:g} s "
            "lease in time (raise --lease on a busy machine)"
        )

    def end(self) -> None:
        self._active = False
