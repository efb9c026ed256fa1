"""Per-package releases: bump one distribution and check the sibling ranges.

    python scripts/release.py check
    python scripts/release.py bump d4p-redis 0.1.1 [--update-ranges]

(or ``hatch run release:check`` / ``hatch run release:bump ...``). Every
distribution lives in ``packages/<dist>/`` with its version in
``src/<module>/__about__.py``; a dependency of one distribution on another
(``d4p-core>=0.1,<0.2``, including optional extras such as the CLI's) must be
satisfied by the sibling's version in the repository. See docs/releasing.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
_VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
_QUOTED = re.compile(r'"([^"\n]+)"')


class ReleaseError(Exception):
    """A bump or check that cannot be done; the message says why."""


@dataclass(frozen=True)
class Package:
    name: str
    directory: Path
    version: Version
    requirements: tuple[Requirement, ...]

    @property
    def about_file(self) -> Path:
        module = self.name.replace("-", "_")
        return self.directory / "src" / module / "__about__.py"

    @property
    def tag(self) -> str:
        return f"{self.name}-v{self.version}"


def _requirements(project: dict[str, Any]) -> Iterator[Requirement]:
    for line in project.get("dependencies", []):
        yield Requirement(str(line))
    for lines in project.get("optional-dependencies", {}).values():
        for line in lines:
            yield Requirement(str(line))


def discover(root: Path = REPO) -> dict[str, Package]:
    """Every distribution under ``root/packages``, by canonical name."""
    packages: dict[str, Package] = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        name = canonicalize_name(project["name"])
        about = pyproject.parent / "src" / name.replace("-", "_") / "__about__.py"
        match = _VERSION_LINE.search(about.read_text())
        if match is None:
            raise ReleaseError(f'{about}: no line __version__ = "X.Y.Z"')
        packages[name] = Package(
            name, pyproject.parent, Version(match.group(1)), tuple(_requirements(project))
        )
    if not packages:
        raise ReleaseError(f"no packages/*/pyproject.toml under {root}")
    return packages


def problems(packages: dict[str, Package]) -> list[str]:
    """Every dependency on a sibling whose range excludes the sibling's version."""
    found = []
    for package in packages.values():
        for requirement in package.requirements:
            sibling = packages.get(canonicalize_name(requirement.name))
            if sibling is not None and not requirement.specifier.contains(
                sibling.version, prereleases=True
            ):
                found.append(
                    f"{package.name} requires {requirement} but the repository has "
                    f"{sibling.name} {sibling.version}"
                )
    return found


def compatible_range(version: Version) -> SpecifierSet:
    """``>=X.Y,<X.(Y+1)`` before 1.0, ``>=X.Y,<(X+1)`` from 1.0 on."""
    major, minor = version.major, version.minor
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return SpecifierSet(f">={major}.{minor},<{upper}")


def _widen_ranges(packages: dict[str, Package], bumped: Package) -> list[str]:
    """Rewrite, in every pyproject, each requirement string on ``bumped`` whose
    range excludes its new version; return the dependants changed."""
    new_range = compatible_range(bumped.version)

    def widen(match: re.Match[str]) -> str:
        try:
            requirement = Requirement(match.group(1))
        except InvalidRequirement:  # any other quoted string
            return match.group(0)
        if canonicalize_name(requirement.name) != bumped.name or requirement.specifier.contains(
            bumped.version, prereleases=True
        ):
            return match.group(0)
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        marker = f"; {requirement.marker}" if requirement.marker else ""
        return f'"{requirement.name}{extras}{new_range}{marker}"'

    changed = []
    for package in packages.values():
        pyproject = package.directory / "pyproject.toml"
        text = pyproject.read_text()
        widened = _QUOTED.sub(widen, text)
        if widened != text:
            pyproject.write_text(widened)
            changed.append(package.name)
    return changed


def bump(dist: str, version: str, *, update_ranges: bool, root: Path = REPO) -> list[str]:
    """Set ``dist``'s version, open its CHANGELOG section; return what changed."""
    packages = discover(root)
    name = canonicalize_name(dist)
    if name not in packages:
        raise ReleaseError(f"unknown distribution {dist!r}; known: {', '.join(sorted(packages))}")
    package = packages[name]
    try:
        new = Version(version)
    except InvalidVersion as error:
        raise ReleaseError(f"{version!r} is not a version ({error})") from None
    if new <= package.version:
        raise ReleaseError(f"{name} is at {package.version}; the new version must be higher")
    about = package.about_file
    about.write_text(_VERSION_LINE.sub(f'__version__ = "{new}"', about.read_text()))
    changed = [str(about.relative_to(root))]
    changelog = package.directory / "CHANGELOG.md"
    text = changelog.read_text() if changelog.exists() else f"# Changelog — {name}\n"
    heading = f"## {new} (unreleased)"
    if heading not in text:
        title, _, rest = text.partition("\n")
        changelog.write_text(f"{title}\n\n{heading}\n\n- (describe the change)\n{rest}")
        changed.append(str(changelog.relative_to(root)))
    packages = discover(root)
    if update_ranges:
        for dependant in _widen_ranges(packages, packages[name]):
            changed.append(f"packages/{packages[dependant].directory.name}/pyproject.toml")
        packages = discover(root)
    found = problems(packages)
    if found:
        raise ReleaseError(
            "sibling ranges exclude the new version (bump them, or pass --update-ranges):\n  "
            + "\n  ".join(found)
        )
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="check every sibling range against the repository")
    bumping = commands.add_parser("bump", help="bump one distribution's version")
    bumping.add_argument("dist")
    bumping.add_argument("version")
    bumping.add_argument(
        "--update-ranges",
        action="store_true",
        help="widen siblings' ranges that exclude the new version",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            packages = discover()
            found = problems(packages)
            if found:
                raise ReleaseError("\n  ".join(["sibling ranges are broken:", *found]))
            for package in packages.values():
                print(f"{package.name} {package.version} (tag {package.tag})")
            return 0
        for path in bump(args.dist, args.version, update_ranges=args.update_ranges):
            print(f"updated {path}")
        tag = discover()[canonicalize_name(args.dist)].tag
        print(f"next: edit the CHANGELOG, run 'hatch run ci', commit, then 'git tag {tag}'")
        return 0
    except ReleaseError as error:
        print(f"release: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
