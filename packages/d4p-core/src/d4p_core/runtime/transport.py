"""What a backend implements to move work between processes: the
:class:`Transport` the engine sends batches through, and the
:class:`SpillTarget` a dynamic worker hands surplus work to."""

from __future__ import annotations

from typing import Protocol

from ..model.types import Address, Batch

__all__ = ["Address", "Batch", "SpillTarget", "Transport"]


class Transport(Protocol):
    """How a backend moves data to instances hosted in other processes.

    Per (sender, receiver) pair, batches and end-of-stream must arrive in the
    order they were sent.
    """

    def send(self, dst: Address, batch: Batch) -> None: ...

    def send_eos(self, dst: Address) -> None: ...


class SpillTarget(Protocol):
    """Where a dynamic worker may hand work it would otherwise do itself."""

    def offer(self, dst: Address, batch: Batch) -> bool:
        """Queue ``batch`` for any worker if there is room now; never blocks."""
        ...
