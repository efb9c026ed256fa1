"""The Java side of local runs: building the launcher and finding Java.

The launcher (``java/`` in the d4p-storm source tree, shipped inside the
package as ``d4p_storm/java``) is a small Maven project depending on
``org.apache.storm:storm-server``. :func:`build_launcher` runs
``mvn -q package`` once per launcher version into a cache directory
(``$D4P_STORM_CACHE`` or ``~/.cache/d4p-storm``; Maven keeps its downloads in
``~/.m2``) and returns the classpath; the same build by hand is
``python -m d4p_storm build``. The first build downloads Storm (~170 MB) and
takes a minute or more, so it says so on standard error, and how long it
took.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from d4p_core import ServiceUnavailableError

from ._notice import notice

__all__ = [
    "build_launcher",
    "building_notice",
    "cache_dir",
    "find_java",
    "find_maven",
    "launcher_source",
    "storm_version",
]

_MAIN = "d4p.storm.LocalRun"


def launcher_source() -> Path:
    """The launcher's Maven project (source tree, or the installed copy)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "java", here / "java"):
        if (candidate / "pom.xml").is_file():
            return candidate
    raise ServiceUnavailableError(
        f"the d4p-storm launcher sources are missing (looked near {here})"
    )


def cache_dir() -> Path:
    root = os.environ.get("D4P_STORM_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "d4p-storm"
    base.mkdir(parents=True, exist_ok=True)
    return base


def find_java() -> str:
    """``java`` from ``$JAVA_HOME`` or the PATH (Storm 2.8 needs Java 17+)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ServiceUnavailableError(
            "the storm mapping's --local mode needs Java 17 or newer ('java' is not on the "
            "PATH and JAVA_HOME is not set)"
        )
    return found


def find_maven() -> str:
    found = shutil.which("mvn")
    if found is None:
        raise ServiceUnavailableError(
            "building the d4p-storm launcher needs Maven ('mvn' is not on the PATH); "
            "install it, or build once elsewhere with 'python -m d4p_storm build'"
        )
    return found


def _digest(source: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([source / "pom.xml", *sorted((source / "src").rglob("*.java"))]):
        digest.update(path.relative_to(source).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _classpath(target: Path) -> str | None:
    classes, listing = target / "classes", target / "classpath.txt"
    if not (classes / "d4p" / "storm" / "LocalRun.class").is_file() or not listing.is_file():
        return None
    return f"{classes}{os.pathsep}{listing.read_text(encoding='utf-8').strip()}"


def build_launcher(timeout: float = 1200) -> tuple[str, Path]:
    """The launcher's classpath (building it if needed) and its log4j2 file."""
    source = launcher_source()
    target = cache_dir() / f"launcher-{_digest(source)}"
    logging_conf = source / "log4j2.xml"
    found = _classpath(target)
    if found is not None:
        return found, logging_conf
    lock_path = cache_dir() / "build.lock"
    with open(lock_path, "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            found = _classpath(target)
            if found is not None:
                return found, logging_conf
            command = [find_maven(), "-B", "-q", "-f", str(source / "pom.xml")]
            command += [f"-Dd4p.target={target}", "package"]
            notice(building_notice(source, target))
            started = time.monotonic()
            try:
                with tempfile.TemporaryDirectory(prefix="d4p-storm-build-") as temp:
                    completed = subprocess.run(
                        command,
                        capture_output=True,
                        text=True,
                        timeout=timeout,
                        check=False,
                        env=_maven_env(temp),
                    )
            except subprocess.TimeoutExpired:
                raise ServiceUnavailableError(
                    f"building the d4p-storm launcher took longer than {timeout:g} s: "
                    + " ".join(command)
                ) from None
            if completed.returncode != 0:
                tail = (completed.stdout + completed.stderr).strip().splitlines()[-15:]
                raise ServiceUnavailableError(
                    "building the d4p-storm launcher failed ("
                    + " ".join(command)
                    + "):\n"
                    + "\n".join(tail)
                )
            found = _classpath(target)
            if found is None:
                raise ServiceUnavailableError(f"the launcher build left no classes in {target}")
            notice(f"launcher built in {time.monotonic() - started:.0f} s")
            return found, logging_conf
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)


def storm_version(source: Path) -> str:
    """The Storm version the launcher's ``pom.xml`` depends on."""
    found = re.search(r"<storm\.version>([^<]+)</storm\.version>", (source / "pom.xml").read_text())
    return found.group(1).strip() if found else "?"


def building_notice(source: Path, target: Path) -> str:
    """What the first ``--local`` run says before it builds the launcher:
    what Maven downloads (nothing much if Storm is in ``~/.m2`` already)."""
    version = storm_version(source)
    repository = Path.home() / ".m2" / "repository"
    building = f"building the LocalCluster launcher (once per d4p-storm version) into {target}"
    if (repository / "org" / "apache" / "storm" / "storm-server" / version).is_dir():
        return f"{building}; Storm {version} is in Maven's repository ({repository}) already"
    return (
        f"{building}: Maven downloads Apache Storm {version} and its dependencies from "
        f"Maven Central (~170 MB, kept in {repository}); a minute or more"
    )


# No hsperfdata file: the JVM would write it to /tmp/hsperfdata_<user>
# whatever java.io.tmpdir says (and leave it behind when killed).
_JVM_FLAGS = ("-XX:-UsePerfData",)


def launcher_command(
    java: str, classpath: str, logging_conf: Path, heap: str, scratch: Path, temp: Path
) -> list[str]:
    """The JVM's command line: everything it writes goes to ``scratch``
    (``temp`` inside it is ``java.io.tmpdir``, where the LocalCluster keeps
    its state); the JVM removes ``scratch`` itself if the driver dies."""
    return [
        java,
        f"-Xmx{heap}",
        *_JVM_FLAGS,
        f"-Djava.io.tmpdir={temp}",
        f"-Dd4p.scratch={scratch}",
        f"-Dlog4j2.configurationFile={logging_conf}",
        "-cp",
        classpath,
        _MAIN,
    ]


def _maven_env(temp: str) -> dict[str, str]:
    """Maven's environment: its JVM's temporary files in ``temp``, no
    hsperfdata file in /tmp."""
    env = dict(os.environ)
    options = [env.get("MAVEN_OPTS", ""), *_JVM_FLAGS, f"-Djava.io.tmpdir={temp}"]
    env["MAVEN_OPTS"] = " ".join(option for option in options if option)
    env["TMPDIR"] = temp
    return env
