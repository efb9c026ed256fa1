"""A Storm LocalCluster in a JVM that d4p starts (``--local``).

:class:`LocalStorm` starts the launcher (``d4p.storm.LocalRun``), waits
until the cluster is up, submits and kills topologies by name over the
JVM's standard input and relays Storm's errors for a running topology to a
listener. One LocalStorm can serve many runs (the tests share one);
``d4p run storm --local`` starts one per run and always stops it.

Everything the JVM writes (the LocalCluster's state, its log, the
topologies handed to it) is in one scratch folder under ``TMPDIR``
(:mod:`d4p_storm._scratch`), removed when the JVM ends however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from d4p_core import RunError, ServiceUnavailableError

from ._scratch import Scratch
from .launcher import build_launcher, find_java, launcher_command

__all__ = ["LocalStorm"]

Listener = Callable[[str, Any], None]

_BLOBSTORE_RACE = "java.io.IOException: No such file or directory"
"""How a submit fails when Nimbus's local blob store lost a folder to the
clean-up of a topology killed just before (STORM-1469's trace: ``createBlob``
in a bucket folder being removed). Nothing was submitted; once more works."""


class _Refused(RunError):
    """The JVM answered a command with an error (``detail``: Storm's)."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


class LocalStorm:
    """A LocalCluster JVM. ``detach``: run the JVM outside this process's
    children (for a cluster shared by many runs; it still ends when this
    process closes its input). ``nimbus_port``: also serve Nimbus Thrift."""

    def __init__(
        self,
        *,
        heap: str = "1g",
        nimbus_port: int | None = None,
        detach: bool = False,
        startup_timeout: float = 180,
    ) -> None:
        self._heap = heap
        self.nimbus_port = nimbus_port
        self._detach = detach
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._stdin: IO[bytes] | None = None
        self._replies: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()
        self._scratch: Scratch | None = None
        self.log_path: Path | None = None
        """The JVM's log (its standard error) while it runs; removed with it."""
        self._exited = threading.Event()

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> LocalStorm:
        """Start the JVM and wait until the cluster is up; on any failure
        (Ctrl-C included) nothing is left running or on disk."""
        java = find_java()
        classpath, logging_conf = build_launcher()
        try:
            self._spawn(java, classpath, logging_conf)
            self._await_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _spawn(self, java: str, classpath: str, logging_conf: Path) -> None:
        self._scratch = scratch = Scratch.create()
        self.log_path = scratch.path / "storm.log"
        command = launcher_command(
            java, classpath, logging_conf, self._heap, scratch.path, scratch.temp
        )
        if self.nimbus_port is not None:
            command += ["--nimbus-port", str(self.nimbus_port)]
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["TMPDIR"] = str(scratch.temp)  # the tasks' (Python) temporary files
        with open(self.log_path, "wb") as log:
            if self._detach:
                pid_file = scratch.path / "jvm.pid"
                # The shell starts the JVM in the background and exits: the
                # JVM is nobody's child here, but it keeps our pipes.
                script = 'exec 3<&0; "$@" <&3 & echo $! > "$D4P_PID_FILE"'
                env["D4P_PID_FILE"] = str(pid_file)
                argv = ["sh", "-c", script, "sh", *command]
            else:
                argv = command
            # The JVM inherits the scratch folder's lock (pass_fds): the
            # folder counts as in use while the JVM or this process lives.
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
                pass_fds=(scratch.fd,),
            )
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._stdin = process.stdin
        if self._detach:
            process.wait()
            self._pid = int(pid_file.read_text().strip())
        else:
            self._pid = process.pid
        threading.Thread(
            target=self._read, args=(process.stdout,), name="d4p-storm-jvm", daemon=True
        ).start()

    def _await_ready(self) -> None:
        try:
            kind, _, detail = self._replies.get(timeout=self._startup_timeout)
        except queue.Empty:
            raise ServiceUnavailableError(
                f"the Storm LocalCluster did not start within {self._startup_timeout:g} s:\n"
                + self.log_tail()
            ) from None
        if kind != "ready":
            raise ServiceUnavailableError(
                f"the Storm LocalCluster did not start: {detail}\n{self.log_tail()}"
            )

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("d4p:"):
                continue
            kind, _, rest = line[4:].partition(" ")
            name, _, detail = rest.partition(" ")
            if kind == "ready":
                self._replies.put(("ready", "", ""))
            elif kind == "topology-error":
                with self._lock:
                    listener = self._listeners.get(name)
                if listener is not None:
                    listener("storm-error", detail)
            else:
                self._replies.put((kind, name, detail))
        self._exited.set()
        self._replies.put(("exited", "", "the Storm JVM exited"))
        with self._lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            listener("exited", f"the Storm LocalCluster JVM exited: {self.log_summary()}")

    @property
    def scratch(self) -> Path | None:
        """The folder everything this JVM writes goes to (``None`` unless
        started); removed when the JVM ends."""
        return None if self._scratch is None else self._scratch.path

    @property
    def alive(self) -> bool:
        return self._process is not None and not self._exited.is_set()

    def _log_lines(self) -> list[str]:
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                return self.log_path.read_text(errors="replace").splitlines()
        return []

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self._log_lines()[-lines:])

    def log_summary(self) -> str:
        """The first lines of the JVM log that say what went wrong."""
        lines = self._log_lines()
        if lines:
            telling = [
                line.strip()
                for line in lines
                if "Cannot run program" in line or "Caused by" in line or " ERROR " in line
            ]
            if telling:
                return "\n".join(dict.fromkeys(telling[:4]))
        return self.log_tail(5) or "it wrote nothing"

    def close(self) -> None:
        """Stop the JVM (asks, then kills) and remove its scratch folder."""
        if self._process is not None:
            self._stop()
            self._process = None
        if self._scratch is not None:
            self._scratch.remove()
            self._scratch = None

    def _stop(self) -> None:
        assert self._process is not None
        with contextlib.suppress(OSError):
            assert self._stdin is not None
            self._stdin.write(b"quit\n")
            self._stdin.flush()
        with contextlib.suppress(OSError):
            assert self._stdin is not None
            self._stdin.close()
        if not self._exited.wait(20):
            self._kill()
            self._exited.wait(10)
        if not self._detach:
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        else:
            self._wait_gone()

    def _kill(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)

    def _wait_gone(self) -> None:
        # Not our child: poll until the pid is gone (init reaps it).
        deadline = time.monotonic() + 15
        while self._pid is not None and time.monotonic() < deadline:
            try:
                os.kill(self._pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        self._kill()

    def __enter__(self) -> LocalStorm:
        return self.start() if self._process is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- topologies -----------------------------------------------------------------
    def _command(self, line: str, expect: str, name: str, timeout: float) -> None:
        if not self.alive:
            raise RunError("the Storm LocalCluster is not running")
        with self._lock:
            assert self._stdin is not None
            self._stdin.write(line.encode() + b"\n")
            self._stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                kind, reply_name, detail = self._replies.get(
                    timeout=max(0.0, deadline - time.monotonic())
                )
            except queue.Empty:
                raise RunError(
                    f"the Storm LocalCluster did not answer {line.split()[0]!r}"
                ) from None
            if kind == "exited":
                raise RunError(f"the Storm LocalCluster exited:\n{self.log_tail()}")
            if reply_name != name:
                continue
            if kind == "error":
                raise _Refused(f"Storm refused {line.split()[0]} of {name}: {detail}", detail)
            if kind == expect:
                return

    def submit(
        self, name: str, topology: bytes, conf: Mapping[str, Any], listener: Listener
    ) -> None:
        """Submit a topology (Thrift ``StormTopology`` bytes) with its conf;
        Storm's errors for it go to ``listener('storm-error', text)``. The
        JVM reads both from files in its scratch folder, removed once
        submitted."""
        if self._scratch is None:
            raise RunError("the Storm LocalCluster is not running")
        with self._lock:
            self._listeners[name] = listener
        try:
            with tempfile.TemporaryDirectory(prefix="submit-", dir=self._scratch.path) as folder:
                topology_file = Path(folder) / "topology.thrift"
                conf_file = Path(folder) / "conf.json"
                topology_file.write_bytes(topology)
                conf_file.write_text(json.dumps(dict(conf)), encoding="utf-8")
                line = f"submit {name} {topology_file} {conf_file}"
                try:
                    self._command(line, "submitted", name, 120)
                except _Refused as refused:
                    if not refused.detail.endswith(_BLOBSTORE_RACE):
                        raise
                    self._command(line, "submitted", name, 120)  # once more
        except BaseException:
            with self._lock:
                self._listeners.pop(name, None)
            raise

    def kill(self, name: str) -> None:
        """Kill a topology and wait until Storm forgot it."""
        with self._lock:
            self._listeners.pop(name, None)
        if self.alive:
            self._command(f"kill {name}", "killed", name, 120)

    def check(self) -> None:
        if not self.alive:
            raise RunError(f"the Storm LocalCluster JVM exited:\n{self.log_tail()}")
