"""The separate virtualenv with stream-d4py, created once and cached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["STREAM_D4PY_PINS", "ensure_stream_d4py"]

STREAM_D4PY_PINS = ("stream-d4py==2.9.1", "redis>=4.6,<5", "mpi4py>=4", "mpich")
"""stream-d4py 2.9.1 is the newest 2.9.x on PyPI; redis-py 4.x because its
Redis mappings break on 8.x (5 s socket timeout vs. BLOCK 5000); mpi4py and
the mpich wheel (its ``mpiexec``) for its mpi mapping."""


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_stream_d4py(venv: Path) -> tuple[Path | None, str]:
    """The venv's interpreter and a note; ``None`` when it cannot be made."""
    python = _python(venv)
    marker = venv / ".d4p-bench-pins"
    wanted = "\n".join(STREAM_D4PY_PINS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python, f"cached venv {venv}"
    print(f"creating {venv} with {', '.join(STREAM_D4PY_PINS)} (once) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *STREAM_D4PY_PINS],
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return None, f"could not create the stream-d4py venv: {error}"
    marker.write_text(wanted)
    return python, f"created venv {venv}"


def stream_d4py_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('stream-d4py'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"
