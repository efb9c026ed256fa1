"""Keep the editable workspace install in step with the packages' metadata.

Hatch installs every ``packages/*`` member editable when it creates an
environment, and re-syncs only when the *dependency list* changes. Entry
points (``d4p.mappings``, ``d4p.workers``, ``pytest11``, console scripts) are
written into the installed metadata at install time, so an environment made
before a commit that adds or moves one keeps the old ones: mappings load from
stale paths and the pytest plugin goes missing. Before the tests run, this
compares each member's declared entry points with the installed ones and
re-installs (editable, no dependencies) the members that differ.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: hatchling depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

EntryPoints = set[tuple[str, str, str]]


def declared_entry_points(pyproject: Path) -> tuple[str, EntryPoints]:
    """(distribution name, {(group, name, value)}) as ``pyproject.toml`` declares them."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared: EntryPoints = set()
    groups = dict(project.get("entry-points", {}))
    groups["console_scripts"] = project.get("scripts", {})
    groups["gui_scripts"] = project.get("gui-scripts", {})
    for group, entries in groups.items():
        declared.update((group, name, value) for name, value in entries.items())
    return project["name"], declared


def installed_entry_points(distribution: str) -> EntryPoints | None:
    """The installed distribution's entry points, or ``None`` when it is not installed."""
    try:
        found = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    return {(ep.group, ep.name, ep.value) for ep in found.entry_points}


def stale_members(root: Path = ROOT) -> list[Path]:
    """The workspace members whose installed entry points differ from their pyproject."""
    stale = []
    for pyproject in sorted(root.glob("packages/*/pyproject.toml")):
        name, declared = declared_entry_points(pyproject)
        installed = installed_entry_points(name)
        if installed is not None and installed != declared:
            stale.append(pyproject.parent)
    return stale


def sync() -> None:
    """Re-install the stale members into this interpreter (editable, no dependencies)."""
    stale = stale_members()
    if not stale:
        return
    names = ", ".join(path.name for path in stale)
    print(
        f"workspace: re-installing {names} (installed entry points are out of date)",
        file=sys.stderr,
    )
    editable = [arg for path in stale for arg in ("-e", str(path))]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--no-deps",
            *editable,
        ],
        check=True,
    )
    importlib.invalidate_caches()
