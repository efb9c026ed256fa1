"""Keep the editable workspace install in step with the packages' metadata.

Hatch installs every ``packages/*`` member editable when it creates an
environment, and re-syncs only when the *dependency list* changes. Entry
points (``d4p.mappings``, ``d4p.workers``, ``pytest11``, console scripts) and
requirements are written into the installed metadata at install time, so an
environment made before a commit that adds or moves one keeps the old ones:
mappings load from stale paths, the pytest plugin goes missing, a new
dependency is not there. Before the tests run, this compares each member's
declared entry points and dependencies with the installed ones and
re-installs (editable) the members that differ.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ImportError:  # Python 3.10: hatchling depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

Metadata = tuple[frozenset[tuple[str, str, str]], frozenset[str]]


def _requirements(specs: list[str]) -> frozenset[str]:
    """Requirements in one spelling (``packaging`` normalises spaces and order)."""
    return frozenset(str(Requirement(spec)) for spec in specs)


def declared_metadata(pyproject: Path) -> tuple[str, Metadata]:
    """(distribution name, (entry points, requirements)) as ``pyproject.toml`` declares them."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    entry_points: set[tuple[str, str, str]] = set()
    groups = dict(project.get("entry-points", {}))
    groups["console_scripts"] = project.get("scripts", {})
    groups["gui_scripts"] = project.get("gui-scripts", {})
    for group, entries in groups.items():
        entry_points.update((group, name, value) for name, value in entries.items())
    requirements = list(project.get("dependencies", []))
    for extra, specs in project.get("optional-dependencies", {}).items():
        requirements += [
            f"{spec}; extra == '{extra}'" if ";" not in spec else spec for spec in specs
        ]
    return project["name"], (frozenset(entry_points), _requirements(requirements))


def installed_metadata(distribution: str) -> Metadata | None:
    """The installed distribution's (entry points, requirements), ``None`` if not installed."""
    try:
        found = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    entry_points = frozenset((ep.group, ep.name, ep.value) for ep in found.entry_points)
    return entry_points, _requirements(found.requires or [])


def unmet(requirements: frozenset[str]) -> list[str]:
    """The requirements (outside extras) with no installed distribution in range."""
    missing = []
    for spec in sorted(requirements):
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(spec)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(spec)
    return missing


def stale_members(root: Path = ROOT) -> list[Path]:
    """The installed workspace members whose metadata differs from their pyproject,
    or whose requirements are not installed."""
    stale = []
    for pyproject in sorted(root.glob("packages/*/pyproject.toml")):
        name, declared = declared_metadata(pyproject)
        installed = installed_metadata(name)
        if installed is not None and (installed != declared or unmet(declared[1])):
            stale.append(pyproject.parent)
    return stale


def sync() -> None:
    """Re-install the stale members, and what they need, into this interpreter (editable)."""
    stale = stale_members()
    if not stale:
        return
    names = ", ".join(path.name for path in stale)
    print(
        f"workspace: re-installing {names} (installed metadata is out of date)",
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
            *editable,
        ],
        check=True,
    )
    importlib.invalidate_caches()
