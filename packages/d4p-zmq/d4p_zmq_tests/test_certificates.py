"""Per-host CURVE certificates: the ``keys`` command, a run whose workers
have their own keys, and what is refused (a revoked host, a wrong driver key,
a peer whose key the driver never authorized), all with real sockets."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
from zmq.utils.monitor import recv_monitor_message

from d4p_core import D4pError, RunError, run
from d4p_core.testing import assert_same_multisets
from d4p_core.testing.processes import child_processes, subprocess_env
from d4p_core.testing.workflows import build_word_count
from d4p_zmq import AUTH_KEY_ENV
from d4p_zmq._auth import Curve
from d4p_zmq._certificates import create, load_driver, load_worker
from d4p_zmq._zap import Gatekeeper

HOSTS = ("h1", "h2")


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    create(directory, HOSTS)
    return directory


def _keys_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "d4p_zmq", "keys", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_keys_command_gives_each_host_only_its_own_secret(tmp_path: Path) -> None:
    root = tmp_path / "keys"
    made = _keys_command(str(root), "h1", "h2")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0].startswith(f"{root / 'driver'}: the driver's")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "driver/authorized/h1.key",
        "driver/authorized/h2.key",
        "driver/driver.key",
        "driver/driver.key_secret",
        "h1/driver.key",
        "h1/h1.key_secret",
        "h2/driver.key",
        "h2/h2.key_secret",
    ]
    assert all(_mode(p) == 0o700 for p in [root, *(p for p in root.rglob("*") if p.is_dir())])
    assert all(_mode(p) == 0o600 for p in root.rglob("*.key_secret"))
    driver_key = (root / "driver" / "driver.key").read_text()
    # a new host is added beside the others; the driver keeps its key
    assert _keys_command(str(root), "h3").returncode == 0
    assert (root / "driver" / "driver.key").read_text() == driver_key
    assert (root / "h3" / "driver.key").read_text() == driver_key
    assert load_worker(root / "h3").public in (load_driver(root / "driver").authorized or set())
    # existing keys are never overwritten; names must be plain
    for args, message in [(("h1",), "exists already"), (("../x",), "cannot name a worker host")]:
        refused = _keys_command(str(root), *args)
        assert refused.returncode == 1
        assert refused.stderr.startswith("python -m d4p_zmq keys: error: ")
        assert message in refused.stderr
        assert len(refused.stderr.splitlines()) == 1


def test_certificates_are_refused_with_a_clear_message(keys: Path) -> None:
    secret = keys / "h1" / "h1.key_secret"
    secret.chmod(0o644)
    with pytest.raises(D4pError, match=r"may be read by other users \(mode 0644\); run 'chmod 600"):
        load_worker(keys / "h1")
    with pytest.raises(D4pError, match="give the driver's own directory"):
        load_driver(keys)
    with pytest.raises(D4pError, match="does not exist"):
        load_driver(keys / "nowhere")
    (keys / "h2" / "driver.key").write_text('curve\n    public-key = "short"\n')
    with pytest.raises(D4pError, match="holds no valid CURVE public key"):
        load_worker(keys / "h2")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"transport": "ipc"}, "certificates authenticate tcp connections"),
        ({"auth_key": "k" * 20}, "give certificates or an auth key, not both"),
    ],
)
def test_certificates_and_other_options(keys: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(D4pError, match=message):
        run(build_word_count(), "zmq_multi", inputs=1, certificates=str(keys / "driver"), **options)


def test_a_local_run_with_certificates(keys: Path) -> None:
    result = run(
        build_word_count(), "zmq_multi", inputs=50, processes=4, certificates=str(keys / "driver")
    )
    assert result.extra["transport"] == "tcp"
    assert_same_multisets(result.outputs, run(build_word_count(), "simple", inputs=50).outputs)
    assert not child_processes()


def _worker(endpoint: str, bundle: Path, *extra: str) -> subprocess.Popen[str]:
    env = subprocess_env()
    env.pop(AUTH_KEY_ENV, None)
    command = [sys.executable, "-m", "d4p_zmq.worker", "--connect", endpoint]
    command += ["--certificates", str(bundle), "--bind-host", "127.0.0.1", "--timeout", "20"]
    return subprocess.Popen(
        [*command, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _run_remote(keys: Path, bundles: list[Path], **options: Any) -> tuple[Any, list[Any]]:
    """Run with ``len(bundles)`` remote workers, one per bundle; return the
    result (or the error) and each worker's (exit status, stderr)."""
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        workers.extend(_worker(endpoint, bundle) for bundle in bundles)

    try:
        outcome: Any = run(
            build_word_count(),
            "zmq_multi",
            inputs=100,
            processes=len(bundles) + 2,
            remote_workers=len(bundles),
            bind="tcp://127.0.0.1:0",
            certificates=str(keys / "driver"),
            announce=announce,
            **options,
        )
    except D4pError as error:
        outcome = error
    ended = []
    for worker in workers:
        _, err = worker.communicate(timeout=30)
        ended.append((worker.returncode, err))
    assert not child_processes()
    return outcome, ended


@pytest.mark.timeout(120)
def test_remote_workers_with_their_own_certificates(keys: Path) -> None:
    result, ended = _run_remote(keys, [keys / host for host in HOSTS], worker_timeout=30)
    assert_same_multisets(result.outputs, run(build_word_count(), "simple", inputs=100).outputs)
    assert sum(w["remote"] for w in result.extra["workers"]) == 2
    assert result.extra["rejected_connections"] == 0
    assert [code for code, _ in ended] == [0, 0], ended


@pytest.mark.timeout(60)
def test_a_revoked_host_is_refused_and_the_run_does_not_hang(keys: Path) -> None:
    (keys / "driver" / "authorized" / "h2.key").unlink()
    error, [(code, err)] = _run_remote(keys, [keys / "h2"], worker_timeout=5)
    assert isinstance(error, D4pError)
    assert "only 0 of 1 remote worker" in str(error)
    assert "did not authenticate with a certificate this driver authorized" in str(error)
    assert code == 7
    assert "refused this worker's certificate" in err
    assert len(err.splitlines()) == 1


@pytest.mark.timeout(60)
def test_a_worker_with_another_drivers_key_is_refused(keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    create(other, ["h1"])
    (keys / "h1" / "driver.key").write_bytes((other / "h1" / "driver.key").read_bytes())
    error, [(code, err)] = _run_remote(keys, [keys / "h1"], worker_timeout=5)
    assert isinstance(error, D4pError)
    assert code == 7
    assert "could not authenticate the driver" in err


def _handshake(server: str, server_key: bytes, client: Curve, kind: int = zmq.DEALER) -> int:
    """Connect a socket of ``kind`` with ``client``'s keys to ``server`` and
    send what a worker says first; return the first handshake event."""
    context: zmq.Context[Any] = zmq.Context()
    sock = context.socket(kind)
    sock.linger = 0
    monitor = sock.get_monitor_socket(
        zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    )
    try:
        client.join(sock, server_key)
        sock.connect(server)
        sock.send_multipart([b"hello", pickle.dumps({"slot": None, "pid": 0, "host": "evil"})])
        assert monitor.poll(10_000), "the handshake neither succeeded nor failed"
        return int(recv_monitor_message(monitor)["event"])
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
        context.term()


def _stranger() -> Curve:
    public, secret = zmq.curve_keypair()
    return Curve.from_pair(public, secret, public, None)


@pytest.mark.timeout(60)
def test_a_peer_with_an_unauthorized_key_cannot_join(keys: Path) -> None:
    # public keys are public: knowing the driver's is not enough to get in
    driver_key, _ = zmq.auth.load_certificate(keys / "driver" / "driver.key")
    events: list[int] = []
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        events.append(_handshake(endpoint, driver_key, _stranger()))
        workers.append(_worker(endpoint, keys / "h1"))

    result = run(
        build_word_count(),
        "zmq_multi",
        inputs=100,
        processes=3,
        remote_workers=1,
        bind="tcp://127.0.0.1:0",
        certificates=str(keys / "driver"),
        announce=announce,
        worker_timeout=30,
    )
    assert events == [zmq.EVENT_HANDSHAKE_FAILED_AUTH]
    assert result.extra["rejected_connections"] >= 1
    assert all(w["host"] != "evil" for w in result.extra["workers"])
    assert len(result.outputs["WordCounter1"]["output"]) == 100
    for worker in workers:
        assert worker.wait(timeout=30) == 0


def test_a_workers_data_socket_takes_only_authorized_keys(keys: Path) -> None:
    # what every worker's PULL socket does with the keys in its assignment
    server, member = load_worker(keys / "h1"), load_worker(keys / "h2")
    context: zmq.Context[Any] = zmq.Context()
    gatekeeper = Gatekeeper(context, frozenset({server.public, member.public}))
    pull = context.socket(zmq.PULL)
    pull.linger = 0
    try:
        server.serve(pull)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"
        for client, event in [
            (_stranger(), zmq.EVENT_HANDSHAKE_FAILED_AUTH),
            (member, zmq.EVENT_HANDSHAKE_SUCCEEDED),
        ]:
            assert _handshake(endpoint, server.public, client, zmq.PUSH) == event
        deadline = time.monotonic() + 10
        while not pull.poll(100):
            assert time.monotonic() < deadline
        assert pull.recv_multipart()[0] == b"hello"  # the member's message, not the stranger's
        assert not pull.poll(0)
    finally:
        pull.close()
        gatekeeper.stop()
        context.term()


def _inside_worker(endpoint: str, bundle: Path, probes: dict[int, int]) -> None:
    """Join the run at ``endpoint`` as an authorized worker speaking the
    protocol by hand; once told every worker's data endpoint, knock on each
    with a key the driver never authorized (``probes``: the handshake event
    per slot), then end the run by reporting a crash."""
    curve = load_worker(bundle)
    context: zmq.Context[Any] = zmq.Context()
    dealer, pull = context.socket(zmq.DEALER), context.socket(zmq.PULL)
    dealer.linger = pull.linger = 0
    try:
        curve.join(dealer)
        dealer.connect(endpoint)

        def expect(kind: bytes) -> list[bytes]:
            assert dealer.poll(20_000), f"no {kind!r} from the driver"
            frames: list[bytes] = dealer.recv_multipart()
            assert frames[0] == kind, frames[0]
            return frames[1:]

        dealer.send_multipart([b"hello", pickle.dumps({"slot": None, "pid": 0, "host": "inside"})])
        expect(b"assign")
        curve.serve(pull)
        mine = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        dealer.send_multipart([b"bound", pickle.dumps((mine, curve.public))])
        peers: dict[int, tuple[str, bytes]] = pickle.loads(expect(b"go")[0])
        for slot, (peer, key) in peers.items():
            if peer != mine:
                probes[slot] = _handshake(peer, key, _stranger(), zmq.PUSH)
        dealer.send_multipart([b"crashed", pickle.dumps("the probe is over")])
        dealer.poll(20_000)  # the driver's abort
    finally:
        pull.close()
        dealer.close()
        context.term()


@pytest.mark.timeout(90)
def test_every_workers_data_socket_refuses_an_unauthorized_key(keys: Path) -> None:
    # Two local workers and a real remote one (h1) take the driver's list of
    # authorized keys: a peer that knows their endpoints and public keys but
    # holds no authorized key is refused by each of them.
    probes: dict[int, int] = {}
    threads: list[threading.Thread] = []
    workers: list[subprocess.Popen[str]] = []

    def announce(endpoint: str) -> None:
        workers.append(_worker(endpoint, keys / "h1"))
        threads.append(
            threading.Thread(target=_inside_worker, args=(endpoint, keys / "h2", probes))
        )
        threads[0].start()

    with pytest.raises(RunError, match="crashed: the probe is over"):
        run(
            build_word_count(),
            "zmq_multi",
            inputs=10**6,
            processes=4,
            remote_workers=2,
            bind="tcp://127.0.0.1:0",
            certificates=str(keys / "driver"),
            announce=announce,
            worker_timeout=30,
        )
    threads[0].join(timeout=30)
    assert len(probes) == 3
    assert set(probes.values()) == {zmq.EVENT_HANDSHAKE_FAILED_AUTH}
    for worker in workers:
        worker.wait(timeout=30)
    assert not child_processes()


def test_the_worker_takes_certificates_or_a_key_not_both(keys: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "d4p_zmq.worker",
            "--connect",
            "tcp://127.0.0.1:9",
            "--certificates",
            str(keys / "h1"),
            "--auth-key",
            "k" * 20,
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr == (
        "python -m d4p_zmq.worker: error: give --certificates or --auth-key, not both\n"
    )
