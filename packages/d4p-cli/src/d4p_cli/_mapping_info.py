"""What ``d4p mappings`` shows about a mapping: read from the loaded class.

Names, distributions and versions come from entry-point metadata (core's
``available_mappings``); ``supports_stateful`` and ``description`` are class
attributes of the mapping, so each mapping is loaded (its backend imported)
to read them exactly. A mapping that cannot be loaded is listed with the
reason.
"""

from __future__ import annotations

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


def details(info: MappingInfo) -> MappingDetails:
    """Details of ``info``, from its loaded mapping class."""
    try:
        mapping = load_mapping(info.name)
    except Exception as exc:  # noqa: BLE001 - shown to the user, per mapping
        return MappingDetails(
            info.name, info.distribution, info.version, None, None, f"{type(exc).__name__}: {exc}"
        )
    stateful = getattr(mapping, "supports_stateful", None)
    description = getattr(mapping, "description", None)
    return MappingDetails(
        name=info.name,
        distribution=info.distribution,
        version=info.version,
        supports_stateful=stateful if isinstance(stateful, bool) else None,
        description=description if isinstance(description, str) else None,
    )
