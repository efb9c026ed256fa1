"""One process's connection to a run: the client, the key names, the codec
and the atomic steps (commit, register, report)."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

import redis

from d4p_core import GenericPE
from d4p_core.backend import Address, FlatGraph, GraphPayload, InputSpec, Plan

from . import _scripts
from ._codec import Codec
from ._keys import GROUP, RunKeys
from ._options import RedisOptions

__all__ = ["HEARTBEAT_SECONDS", "RunGone", "RunSpec", "Session", "fingerprint"]

HEARTBEAT_SECONDS = 1.0  # seconds between an external worker's heartbeats


class RunGone(Exception):
    """The run's keys were deleted (it ended or failed): stop quietly."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs, stored pickled (and signed) in Redis: the
    plan, the PEs, and the options workers act on (never the server URL or
    the key)."""

    mapping: str
    kind: str  # "dynamic" or "fixed"
    plan: Plan
    payload: GraphPayload
    fingerprint: str
    serializer: str
    batch_size: int
    read_count: int
    spill_above: int
    backlog: int
    claim_idle: float
    on_error: str
    max_attempts: int
    max_deaths: int
    provided: dict[str, InputSpec]
    heartbeat: float = HEARTBEAT_SECONDS
    # dynamic
    stateless: tuple[str, ...] = ()
    # Stateless PEs that several workers hold copies of: process() must not
    # change their attributes (core's state watch fails the run if it does).
    state_copies: tuple[str, ...] = ()
    pinned_owner: dict[Address, int] = field(default_factory=dict)
    # fixed
    blocks: tuple[tuple[Address, ...], ...] = ()

    @classmethod
    def create(
        cls,
        mapping: str,
        flat: FlatGraph,
        plan: Plan,
        provided: dict[str, InputSpec],
        options: RedisOptions,
        *,
        blocks: tuple[tuple[Address, ...], ...] = (),
        stateless: tuple[str, ...] = (),
        state_copies: tuple[str, ...] = (),
        pinned_owner: dict[Address, int] | None = None,
    ) -> RunSpec:
        """The description of a fixed run (``blocks`` given) or a dynamic one."""
        pes = flat.by_id()
        dynamic = not blocks
        return cls(
            mapping=mapping,
            kind="dynamic" if dynamic else "fixed",
            plan=plan,
            # Any process (or machine) receives the PEs pickled.
            payload=GraphPayload.create(pes, mapping),
            fingerprint=fingerprint(pes, plan),
            serializer=options.serializer,
            batch_size=options.batch(dynamic),
            read_count=options.read_count,
            spill_above=options.spill_above,
            backlog=options.backlog,
            claim_idle=options.claim_idle,
            on_error=options.on_error,
            max_attempts=options.max_attempts,
            max_deaths=options.max_deaths,
            provided=provided,
            stateless=stateless,
            state_copies=state_copies,
            pinned_owner=pinned_owner or {},
            blocks=blocks,
        )


def fingerprint(pes: dict[str, GenericPE], plan: Plan) -> str:
    """Identifies a workflow version: PE ids and classes, what defines each
    class (its module's file, else its code), and the routes."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    for pe_id in sorted(pes):
        cls = type(pes[pe_id])
        digest.update(f"{pe_id}={cls.__module__}.{cls.__qualname__};".encode())
        path = _defining_file(cls)
        if path is not None and path in seen:
            continue
        source = _file_digest(path) if path is not None else None
        if source is None:
            digest.update(_code_digest(cls))
        else:
            seen.add(str(path))
            digest.update(source)
    for (pe_id, output), routes in sorted(plan.routes.items()):
        for route in routes:
            digest.update(
                f"{pe_id}.{output}>{route.dst_pe}.{route.dst_input}:{route.grouping};".encode()
            )
    return digest.hexdigest()[:16]


def _defining_file(cls: type) -> str | None:
    """The readable source file of the module that defines ``cls``; None for
    a class no file defines here: one from a ``__main__`` fed on stdin, a
    notebook or the REPL (it travels by value, its code with it), a local
    class, or one whose module has no readable file."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    found: Any = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    # A worker's own __main__ (python -m d4p_redis.worker) defines no PE.
    return path if found is cls else None


def _file_digest(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).digest()
    except OSError:
        return None


def _code_digest(cls: type) -> bytes:
    """A digest of the code of ``cls`` and of its bases from the same module:
    the same in every process that runs the same code (unlike ``marshal``,
    whose output depends on reference counts)."""
    digest = hashlib.sha256()
    for klass in cls.__mro__:
        if klass.__module__ != cls.__module__:
            continue
        digest.update(klass.__qualname__.encode())
        for name, value in sorted(vars(klass).items()):
            function = getattr(value, "__func__", value)  # staticmethod, classmethod
            code = getattr(function, "__code__", None)
            if isinstance(code, CodeType):
                digest.update(name.encode() + b"=" + _code_text(code).encode())
            elif isinstance(value, property):
                for part in (value.fget, value.fset, value.fdel):
                    if part is not None and isinstance(getattr(part, "__code__", None), CodeType):
                        digest.update(name.encode() + b"=" + _code_text(part.__code__).encode())
            else:
                digest.update(name.encode() + b";")
    return digest.digest()


def _code_text(code: CodeType) -> str:
    return repr(
        (code.co_code, code.co_names, code.co_varnames, [_constant(c) for c in code.co_consts])
    )


def _constant(value: Any) -> Any:
    if isinstance(value, CodeType):
        return _code_text(value)
    if isinstance(value, (tuple, list)):
        return [_constant(item) for item in value]
    if isinstance(value, (frozenset, set)):  # iteration order varies between processes
        return sorted(repr(_constant(item)) for item in value)
    return repr(value)


class Session:
    """A process's view of one run."""

    def __init__(self, client: redis.Redis, run_id: str, codec: Codec) -> None:
        self.client = client
        self.keys = RunKeys(run_id)
        self.codec = codec
        self._commit = client.register_script(_scripts.COMMIT)
        self._register = client.register_script(_scripts.REGISTER)
        self._seal = client.register_script(_scripts.SEAL)
        self._heartbeat = client.register_script(_scripts.HEARTBEAT)
        self._hand_back = client.register_script(_scripts.HAND_BACK)
        self.pid = os.getpid()

    # -- the run description ----------------------------------------------
    def load_spec(self) -> RunSpec:
        raw: Any = self.client.get(self.keys.spec)
        if raw is None:
            raise RunGone
        spec: RunSpec = self.codec.decode_pickle(raw)
        return spec

    # -- atomic steps -------------------------------------------------------
    def commit(
        self,
        acks: list[tuple[str, bytes]],
        adds: list[tuple[str, bytes]],
        reports: list[bytes],
        counted_acks: int,
        counted_adds: int,
        idle_report: bytes = b"",
        took: tuple[float, float] = (0.0, 0.0),
    ) -> int:
        """One atomic step (``_scripts.COMMIT``); ``took``: the seconds and
        CPU-seconds the acknowledged tasks took (for the autoscaler)."""
        args: list[Any] = [GROUP, len(acks)]
        for stream, entry_id in acks:
            args += [stream, entry_id]
        args.append(len(adds))
        for stream, payload in adds:
            args += [stream, payload]
        args.append(len(reports))
        args += reports
        args += [counted_acks, counted_adds, idle_report, *took]
        k = self.keys
        keys = [k.spec, k.in_flight, k.completed, k.control, k.task_time]
        result = int(self._commit(keys=keys, args=args))
        if result == -2:
            raise RunGone
        return result

    def report(self, kind: str, index: int, payload: Any) -> None:
        self.commit([], [], [self.encode_report(kind, index, payload)], 0, 0)

    def encode_report(self, kind: str, index: int, payload: Any) -> bytes:
        return self.codec.encode_pickle((kind, index, payload))

    def register(self, heartbeat_ms: int) -> int:
        k = self.keys
        slot = int(
            self._register(
                keys=[k.spec, k.members, k.closing, k.prefix + "cmd:"],
                args=[GROUP, k.prefix + "alive:", heartbeat_ms],
            )
        )
        if slot == -2:
            raise RunGone
        return slot

    def seal(self) -> int:
        k = self.keys
        slots = int(self._seal(keys=[k.spec, k.members, k.closing]))
        if slots == -2:
            raise RunGone
        return slots

    def hand_back(self, member: int, *, died: bool, ids: tuple[bytes, ...] = ()) -> int:
        """Give tasks ``member`` read and did not commit back to the task
        stream (all of them, or those of ``ids`` still its own); how many.
        ``died``: it died holding them (each task counts one more death)."""
        k = self.keys
        args = [GROUP, f"w{member}", "1" if died else "0", *ids]
        moved = int(self._hand_back(keys=[k.spec, k.tasks], args=args))
        if moved == -2:
            raise RunGone
        return moved

    def leave(self, member: int) -> None:
        """``member`` leaves the run (stopped, not dead): its tasks handed
        back, its heartbeat ended."""
        self.hand_back(member, died=False)
        self.client.delete(self.keys.heartbeat(member))

    def heartbeat(self, slot: int, ms: int) -> None:
        if not int(self._heartbeat(keys=[self.keys.spec, self.keys.heartbeat(slot)], args=[ms])):
            raise RunGone
