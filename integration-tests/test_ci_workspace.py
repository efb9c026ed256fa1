"""`.ci/workspace.py`: stale editable installs are found (and only those)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _workspace() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_workspace", ROOT / ".ci" / "workspace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_core_pyproject(tmp_path: Path) -> Path:
    member = tmp_path / "packages" / "d4p-core"
    member.mkdir(parents=True)
    shutil.copy(ROOT / "packages" / "d4p-core" / "pyproject.toml", member / "pyproject.toml")
    return member / "pyproject.toml"


def test_the_installed_workspace_matches_its_pyprojects() -> None:
    assert _workspace().stale_members(ROOT) == []


def test_a_moved_entry_point_marks_the_member_stale(tmp_path: Path) -> None:
    pyproject = _copy_core_pyproject(tmp_path)
    text = pyproject.read_text(encoding="utf-8")
    moved = text.replace(
        '"d4p_core.mappings.simple:SimpleMapping"', '"d4p_core.simple:SimpleMapping"'
    )
    assert moved != text
    pyproject.write_text(moved, encoding="utf-8")
    assert _workspace().stale_members(tmp_path) == [pyproject.parent]


def test_a_member_that_is_not_installed_is_left_alone(tmp_path: Path) -> None:
    pyproject = _copy_core_pyproject(tmp_path)
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace('name = "d4p-core"', 'name = "d4p-not-installed"'), encoding="utf-8"
    )
    assert _workspace().stale_members(tmp_path) == []


def test_requirements_that_are_not_installed_are_unmet() -> None:
    requirements = frozenset(
        {"d4p-surely-not-installed>=1", "pytest>=8", "pytest<1", "networkx; extra == 'x'"}
    )
    assert _workspace().unmet(requirements) == ["d4p-surely-not-installed>=1", "pytest<1"]
