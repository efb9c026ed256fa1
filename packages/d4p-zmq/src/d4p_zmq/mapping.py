"""The ``zmq_multi`` mapping: PE instances placed on processes exactly as for
``multi`` (core's :class:`~d4p_core.backend.FixedPlacementMapping`), joined by
ZeroMQ (:mod:`d4p_zmq._driver`, :mod:`d4p_zmq._node`). Local runs use
``ipc://`` endpoints in a private temporary directory; ``--transport tcp``
uses authenticated (CURVE) connections, from a shared auth key or per-host
certificates (``--certificates``), and lets workers on other machines join
(``--remote-workers K``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from d4p_core import D4pError
from d4p_core.backend import (
    FixedPlacementMapping,
    Fuse,
    PlacedRun,
    RunOutcome,
    check_process_options,
    fuse_option,
    option,
    start_method_option,
)

from ._auth import AUTH_KEY_ENV, resolve_auth_key
from ._driver import Driver

__all__ = ["ZmqMultiMapping", "ZmqOptions"]

_TRANSPORTS = ("ipc", "tcp")


@dataclass(frozen=True)
class ZmqOptions:
    """Options of ``zmq_multi``; ``processes`` counts local and remote
    workers (default: CPU count), remote ones take the last partitions.
    ``announce`` (library use) is called with the driver's endpoint once it
    listens for remote workers."""

    processes: int | None = None
    transport: str | None = option(
        None, "ipc (this machine; the default) or tcp (authenticated)", choices=_TRANSPORTS
    )
    start_method: str | None = start_method_option()
    batch_size: int = option(256, "items per message")
    queue_size: int = option(16, "messages buffered per socket before senders wait")
    fuse: Fuse = fuse_option()
    remote_workers: int = option(
        0,
        "K of the processes are remote workers that join with "
        "'python -m d4p_zmq.worker --connect ...' (implies --transport tcp)",
        metavar="K",
    )
    bind: str | None = option(
        None,
        "where the driver listens (default: any free port; all interfaces with remote workers)",
        metavar="tcp://HOST:PORT",
    )
    advertise: str | None = option(None, "this machine's name for workers", metavar="HOST")
    auth_key: str | None = option(
        None,
        f"tcp auth key shared with remote workers (default: ${AUTH_KEY_ENV}, "
        "else a new random one, printed for the workers)",
        repr=False,
    )
    certificates: str | None = option(
        None,
        "per-host CURVE certificates instead of an auth key: the driver's directory "
        "made by 'python -m d4p_zmq keys DIR NAME...' (DIR/driver; implies --transport tcp)",
        metavar="DIR",
    )
    worker_timeout: float = option(60.0, "seconds to wait for the workers to join")
    announce: Callable[[str], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            fuse=self.fuse,
            batch_size=self.batch_size,
            queue_size=self.queue_size,
        )
        if self.transport is not None and self.transport not in _TRANSPORTS:
            raise D4pError(f"transport must be ipc or tcp, not {self.transport!r}")
        if self.remote_workers < 0:
            raise D4pError(f"remote_workers must be 0 or more, not {self.remote_workers}")
        if self.remote_workers and self.transport == "ipc":
            raise D4pError("remote workers need the tcp transport (--transport tcp)")
        if self.certificates is not None and self.transport == "ipc":
            raise D4pError("certificates authenticate tcp connections: use --transport tcp")
        if self.certificates is not None and self.auth_key is not None:
            raise D4pError("give certificates or an auth key, not both")
        if self.bind is not None and not self.bind.startswith("tcp://"):
            raise D4pError(f"bind must be a tcp:// endpoint (tcp://HOST:PORT), not {self.bind!r}")
        if self.worker_timeout <= 0:
            raise D4pError(f"worker_timeout must be positive, not {self.worker_timeout}")
        resolve_auth_key(self.auth_key)


class ZmqMultiMapping(FixedPlacementMapping[ZmqOptions]):
    """Fixed assignment of PE instances to processes joined by ZeroMQ."""

    name: ClassVar[str] = "zmq_multi"
    description: ClassVar[str] = (
        "one process per PE instance (or fused chain), ZeroMQ between them; several machines"
    )
    options_class: ClassVar[type[ZmqOptions]] = ZmqOptions

    def execute(self, placed: PlacedRun, options: ZmqOptions) -> RunOutcome:
        driver = Driver(placed, options)
        driver.run()
        return driver.outcome()
