"""Everything a runner needs to host its PE, shipped in the topology conf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from d4p_core.backend import GraphPayload, InputSpec, Plan

from ._codec import decode, encode

__all__ = ["JOB_KEY", "StormJob"]

JOB_KEY = "d4p.job"


@dataclass(frozen=True)
class StormJob:
    """The plan, the pickled PEs (with their import context), the inputs,
    and where the driver listens (``host``, ``port``, and a ``token`` every
    runner presents; ``None`` when nobody collects: results are logged).
    ``report_progress``: the driver has a progress listener."""

    plan: Plan
    payload: GraphPayload
    provided: dict[str, InputSpec]
    batch_size: int
    driver: tuple[str, int] | None
    token: str
    report_progress: bool = False

    def to_conf(self) -> str:
        return encode(self)

    @staticmethod
    def from_conf(conf: dict[str, Any]) -> StormJob:
        text = conf.get(JOB_KEY)
        if not isinstance(text, str):
            raise RuntimeError(f"the topology conf has no {JOB_KEY!r}: not a d4p topology")
        job = decode(text)
        if not isinstance(job, StormJob):
            raise RuntimeError(f"{JOB_KEY!r} does not hold a d4p job")
        return job
