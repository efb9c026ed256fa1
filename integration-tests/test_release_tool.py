"""scripts/release.py on a copy of the repository's package metadata."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("d4p_release", REPO / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Every package's pyproject, __about__ and CHANGELOG, nothing else."""
    for pyproject in (REPO / "packages").glob("*/pyproject.toml"):
        package = pyproject.parent
        target = tmp_path / "packages" / package.name
        abouts = [about.relative_to(package) for about in package.glob("src/*/__about__.py")]
        for relative in (Path("pyproject.toml"), Path("CHANGELOG.md"), *abouts):
            (target / relative.parent).mkdir(parents=True, exist_ok=True)
            shutil.copy(package / relative, target / relative)
    return tmp_path


def test_the_repository_is_consistent(release: ModuleType) -> None:
    assert release.problems(release.discover()) == []
    assert {"d4p-core", "d4p-cli", "d4p-mpi"} <= set(release.discover())


def test_bumping_a_backend_patch_release(release: ModuleType, repo: Path) -> None:
    changed = release.bump("d4p-mpi", "0.1.1", update_ranges=False, root=repo)
    packages = release.discover(repo)
    assert str(packages["d4p-mpi"].version) == "0.1.1"
    assert packages["d4p-mpi"].tag == "d4p-mpi-v0.1.1"
    assert str(packages["d4p-core"].version) == "0.1.0", "only the named package moves"
    changelog = (repo / "packages" / "d4p-mpi" / "CHANGELOG.md").read_text()
    assert changelog.index("## 0.1.1 (unreleased)") < changelog.index("## 0.1.0")
    assert "packages/d4p-mpi/CHANGELOG.md" in changed


def test_a_core_minor_release_outside_the_backends_range_is_refused(
    release: ModuleType, repo: Path
) -> None:
    with pytest.raises(release.ReleaseError, match=r"d4p-mpi requires d4p-core<0\.2,>=0\.1"):
        release.bump("d4p-core", "0.2.0", update_ranges=False, root=repo)
    assert release.problems(release.discover(repo)), "the check reports the broken range"


def test_update_ranges_widens_every_dependant(release: ModuleType, repo: Path) -> None:
    release.bump("d4p-core", "0.2.0", update_ranges=True, root=repo)
    packages = release.discover(repo)
    assert release.problems(packages) == []
    text = (repo / "packages" / "d4p-mpi" / "pyproject.toml").read_text()
    assert '"d4p-core<0.3,>=0.2"' in text


@pytest.mark.parametrize(
    ("dist", "version", "message"),
    [
        ("d4p-nope", "1.0", "unknown distribution"),
        ("d4p-mpi", "0.0.9", "must be higher"),
        ("d4p-mpi", "banana", "not a version"),
    ],
)
def test_bad_bumps_say_why(
    release: ModuleType, repo: Path, dist: str, version: str, message: str
) -> None:
    with pytest.raises(release.ReleaseError, match=message):
        release.bump(dist, version, update_ranges=False, root=repo)
