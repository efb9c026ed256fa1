"""What ``d4p mappings`` shows about a mapping, without importing backends.

Names, distributions and versions come from entry-point metadata (core's
``available_mappings``). ``supports_stateful`` and ``description`` are class
attributes, read in this order:

1. from the class itself when it is already imported or comes from d4p-core
   (a dependency of the CLI with no heavy imports) — exact and cheap;
2. from the mapping module's *source*, located on ``sys.path`` without
   importing it (nor its package) and parsed with :mod:`ast`, when the class
   assigns them as literals;
3. otherwise ``None`` (shown as ``?``); ``d4p mappings --load`` imports every
   mapping to read them exactly.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any

from d4p_core import MappingInfo, load_mapping

__all__ = ["MappingDetails", "details"]


@dataclass(frozen=True)
class MappingDetails:
    name: str
    distribution: str
    version: str
    supports_stateful: bool | None
    description: str | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "supports_stateful": self.supports_stateful,
            "description": self.description,
            "error": self.error,
        }


def _split(value: str) -> tuple[str, str]:
    module, _, attr = value.partition(":")
    return module.strip(), attr.strip()


def _from_loaded_class(module_name: str, attr: str) -> dict[str, Any] | None:
    module = sys.modules.get(module_name)
    if module is None and module_name.split(".")[0] == "d4p_core":
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    if module is None:
        return None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return {
        "supports_stateful": getattr(target, "supports_stateful", None),
        "description": getattr(target, "description", None),
    }


def _source_file(module_name: str) -> str | None:
    parts = module_name.split(".")
    for entry in sys.path:
        base = os.path.join(entry or os.curdir, *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def _from_source(module_name: str, attr: str) -> dict[str, Any]:
    path = _source_file(module_name)
    if path is None or "." in attr:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == attr:
            for statement in node.body:
                targets: list[ast.expr]
                if isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    targets, value = [statement.target], statement.value
                elif isinstance(statement, ast.Assign):
                    targets, value = list(statement.targets), statement.value
                else:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in (
                        "supports_stateful",
                        "description",
                    ):
                        with contextlib.suppress(ValueError):
                            found[target.id] = ast.literal_eval(value)
    return found


def details(info: MappingInfo, *, load: bool = False) -> MappingDetails:
    """Details of ``info``; ``load=True`` imports the mapping to read them."""
    module_name, attr = _split(info.value)
    found: dict[str, Any] | None = None
    error: str | None = None
    if load:
        try:
            mapping = load_mapping(info.name)
            found = {
                "supports_stateful": getattr(mapping, "supports_stateful", None),
                "description": getattr(mapping, "description", None),
            }
        except Exception as exc:  # noqa: BLE001 - shown to the user, per mapping
            error = f"{type(exc).__name__}: {exc}"
    if found is None:
        found = _from_loaded_class(module_name, attr) or _from_source(module_name, attr)
    stateful = found.get("supports_stateful")
    description = found.get("description")
    return MappingDetails(
        name=info.name,
        distribution=info.distribution,
        version=info.version,
        supports_stateful=stateful if isinstance(stateful, bool) else None,
        description=description if isinstance(description, str) else None,
        error=error,
    )
