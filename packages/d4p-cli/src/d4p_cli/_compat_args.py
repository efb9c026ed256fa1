"""dispel4py command lines: ``dispel4py MAPPING MODULE [flags]``.

dispel4py's common flags (``-a``, ``-f``, ``-d``, ``-i``) are d4p's own.
The per-mapping flags of dispel4py (reference §2.3) are rewritten to the
option of the selected mapping that means the same, when that mapping has
it; a flag the mapping defines itself is left alone. Flags dispel4py parsed
but never used are dropped; flags with no equivalent are dropped with a
warning.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

__all__ = ["MAPPING_ALIASES", "Translation", "mapping_alias", "translate"]

# dispel4py also accepted a mapping's module path as the target.
MAPPING_ALIASES = {
    "dispel4py.new.simple_process": "simple",
    "dispel4py.new.multi_process": "multi",
    "dispel4py.new.mpi_process": "mpi",
    "dispel4py.new.dynamic_redis": "redis",
    "dispel4py.new.new_dynamic": "dyn_multi",
    "dispel4py.new.new_dynamic_auto": "dyn_auto_multi",
    "dispel4py.new.new_dynamic_redis": "dyn_redis",
    "dispel4py.new.new_dynamic_redis_auto": "dyn_auto_redis",
    "dispel4py.new.new_hybrid_redis": "hybrid_redis",
    "dispel4py.new.zmq_multi": "zmq_multi",
}

# Flags without a value, and flags taking one, that have a d4p equivalent:
# dispel4py spelling -> candidate d4p options, first one the mapping has wins.
_SWITCHES: dict[str, tuple[str, ...]] = {
    "-s": ("--fuse=always",),
    "--simple": ("--fuse=always",),
}
_VALUED: dict[str, tuple[str, ...]] = {
    "--num": ("--processes",),
    "--num_processes": ("--processes",),
    "-thr": ("--queue-threshold", "--idle-time"),
    "--queue_threshold": ("--queue-threshold",),
    "--idle_time": ("--idle-time",),
    "-ri": ("--redis-host",),
    "--redis-ip": ("--redis-host",),
    "-rp": ("--redis-port",),
    "--redis-port": ("--redis-port",),
}
# Parsed by dispel4py and never used: dropped silently.
_UNUSED_VALUED = ("-ct", "--consumer-timeout", "-t", "--topic")
_REDIS_URL_PARTS = {"-ri": "host", "--redis-ip": "host", "-rp": "port", "--redis-port": "port"}


@dataclass
class Translation:
    argv: list[str]
    warnings: list[str] = field(default_factory=list)


def mapping_alias(name: str) -> str:
    return MAPPING_ALIASES.get(name, name)


def _option_name(option: str) -> str:
    return option.split("=", 1)[0]


def translate(argv: list[str], known: Collection[str]) -> Translation:
    """Rewrite dispel4py flags in ``argv`` for a parser whose option strings are ``known``."""
    out: list[str] = []
    warnings: list[str] = []
    redis: dict[str, str] = {}
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        flag, has_inline, inline = token.partition("=")
        if token == "--":
            out.extend(argv[index - 1 :])
            break
        if not token.startswith("-") or flag in known:
            out.append(token)
            continue
        if flag in _SWITCHES and not has_inline:
            replacement = next((c for c in _SWITCHES[flag] if _option_name(c) in known), None)
            if replacement is None:
                warnings.append(f"{flag} has no equivalent for this mapping; ignored")
            else:
                out.append(replacement)
            continue
        if flag in _VALUED or flag in _UNUSED_VALUED or flag == "--provenance-config":
            value: str | None = inline if has_inline else None
            if (
                value is None
                and index < len(argv)
                and (flag != "--provenance-config" or not argv[index].startswith("-"))
            ):
                value = argv[index]
                index += 1
            if flag == "--provenance-config":
                warnings.append("provenance is not supported by d4p; --provenance-config ignored")
                continue
            if flag in _UNUSED_VALUED:
                continue
            if value is None:
                out.append(token)  # let the parser report the missing value
                continue
            candidate = next((c for c in _VALUED[flag] if c in known), None)
            if candidate is not None:
                out.extend([candidate, value])
            elif flag in _REDIS_URL_PARTS and "--redis-url" in known:
                redis[_REDIS_URL_PARTS[flag]] = value
            else:
                warnings.append(f"{flag} has no equivalent for this mapping; ignored")
            continue
        out.append(token)
    if redis:
        host, port = redis.get("host", "localhost"), redis.get("port", "6379")
        out.extend(["--redis-url", f"redis://{host}:{port}"])
    return Translation(out, warnings)
