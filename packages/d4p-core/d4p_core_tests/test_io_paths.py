"""Which files a reader reads: paths made absolute where the workflow is
built, then files, patterns and directories expanded in a stable order,
with one clear error for a path that names nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from d4p_core import InputError
from d4p_core.io._paths import absolute_paths, expand_paths


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("b.txt", "a.txt", "c.csv", ".hidden.txt", "sub/d.txt", "sub/deep/e.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "f.txt").write_text("hidden")
    (tmp_path / "empty").mkdir()
    return tmp_path


def _names(files: list[str], root: Path) -> list[str]:
    return [os.path.relpath(f, root) for f in files]


def test_paths_are_made_absolute_where_the_workflow_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_paths("data/*.txt") == (str(tmp_path / "data" / "*.txt"),)
    assert absolute_paths([Path("a"), "b"]) == (str(tmp_path / "a"), str(tmp_path / "b"))
    assert absolute_paths("~/x") == (os.path.join(os.path.expanduser("~"), "x"),)


@pytest.mark.parametrize(
    ("paths", "error", "message"),
    [
        ([], ValueError, "no paths given"),
        (3, TypeError, "not int"),
        ([b"bytes"], TypeError, "not bytes"),
    ],
)
def test_what_is_not_a_path_is_refused(paths: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        absolute_paths(paths)  # type: ignore[arg-type]


def test_files_patterns_and_directories_expand_in_order(tree: Path) -> None:
    found = expand_paths([str(tree / "c.csv"), str(tree / "*.txt"), str(tree)], recursive=False)
    # the pattern's matches sorted, the directory's files sorted, each once
    assert _names(found, tree) == ["c.csv", "a.txt", "b.txt"]


def test_recursive_reads_subdirectories_and_double_star(tree: Path) -> None:
    found = expand_paths([str(tree)], recursive=True)
    assert _names(found, tree) == ["a.txt", "b.txt", "c.csv", "sub/d.txt", "sub/deep/e.txt"]
    pattern = expand_paths([str(tree / "**" / "*.txt")], recursive=True)
    assert _names(pattern, tree) == ["a.txt", "b.txt", "sub/d.txt", "sub/deep/e.txt"]


def test_a_file_named_twice_is_read_once(tree: Path) -> None:
    (tree / "link.txt").symlink_to(tree / "a.txt")
    found = expand_paths(
        [str(tree / "a.txt"), str(tree / "a.txt"), str(tree / "link.txt")], recursive=False
    )
    assert _names(found, tree) == ["a.txt"]


def test_a_path_naming_nothing_is_one_clear_error(tree: Path) -> None:
    with pytest.raises(InputError, match=r"no such file or directory: '.*/missing\.txt'"):
        expand_paths([str(tree / "a.txt"), str(tree / "missing.txt")], recursive=False)
    with pytest.raises(InputError, match=r"no file matches the pattern '.*\*\.json'$"):
        expand_paths([str(tree / "*.json")], recursive=False)
    with pytest.raises(InputError, match=r"'\*\*' needs recursive=True"):
        expand_paths([str(tree / "**" / "e.txt")], recursive=False)
    with pytest.raises(InputError, match=r"the directory '.*empty' has no files to read"):
        expand_paths([str(tree / "empty")], recursive=False)
    (tree / "broken").symlink_to(tree / "nowhere")
    with pytest.raises(InputError, match="is not a regular file or directory"):
        expand_paths([str(tree / "broken")], recursive=False)
