"""``d4p --version``: the installed d4p distributions and their versions."""

from __future__ import annotations

import re
from importlib.metadata import distributions

__all__ = ["installed_distributions", "version_text"]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions() -> dict[str, str]:
    """``{name: version}`` of every installed ``d4p-*`` distribution, sorted."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and _normalise(name).startswith("d4p-"):
            found.setdefault(_normalise(name), dist.version)
    return dict(sorted(found.items()))


def version_text(prog: str, own_version: str) -> str:
    lines = [f"{prog} (d4p-cli) {own_version}"]
    lines += [f"{name} {version}" for name, version in installed_distributions().items()]
    return "\n".join(lines) + "\n"
