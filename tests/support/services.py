"""Real servers the tests start themselves: FerretDB (MongoDB wire protocol) and NATS.

Each runs as a child process on a free loopback port with its data in a temp dir, and is
stopped when the context exits (the pytest session, for the fixtures in tests/conftest.py).
`FLOWQL_TEST_MONGODB_URI` / `FLOWQL_TEST_NATS_URL` name servers that are already running
instead (a real `mongod`, say); then nothing is started.

Binaries: `ferretdb` is looked up on PATH, then in `~/.cache/flowql/bin/` (where `.ci/run`
builds it); `nats-server` on PATH, then `/usr/sbin/` (Debian's package). A missing binary
skips the tests that need it, saying how to install it; with `CI=true` it fails them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MONGODB_URI_VARIABLE = "FLOWQL_TEST_MONGODB_URI"
NATS_URL_VARIABLE = "FLOWQL_TEST_NATS_URL"
FERRETDB_VERSION = "v1.24.2"
CACHE_BIN = Path.home() / ".cache" / "flowql" / "bin"
START_TIMEOUT = 30.0
PORT_ATTEMPTS = 3

FERRETDB_HELP = (
    f"FerretDB {FERRETDB_VERSION} not found (PATH, {CACHE_BIN}/ferretdb): build it with "
    "`bash scripts/build-ferretdb.sh` (needs Go), or set FLOWQL_TEST_MONGODB_URI=mongodb://host:port/"
)
NATS_HELP = (
    "nats-server not found (PATH, /usr/sbin): `apt-get install nats-server`, "
    "or set FLOWQL_TEST_NATS_URL=nats://host:port"
)


class ServiceMissing(RuntimeError):
    """The binary is not installed: the message says how to install it."""


class ServiceFailed(RuntimeError):
    """The binary is there but the server did not come up (its log tail is in the message)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary(name: str, *fallbacks: Path) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((path for path in fallbacks if path.is_file() and os.access(path, os.X_OK)), None)


def ferretdb_binary() -> Path | None:
    return find_binary("ferretdb", CACHE_BIN / "ferretdb")


def nats_binary() -> Path | None:
    return find_binary("nats-server", Path("/usr/sbin/nats-server"))


@dataclass
class Service:
    """A started server: its URL, its process and where it logs."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    command: list[str]

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Start the same command again (same port, same data): for store-outage tests."""
        self.stop()
        self.process = _spawn(self.command, self.log_path)
        _wait_until(self, _READY[self.name])


def _die_with_parent() -> None:
    """In the child: SIGTERM it when the test process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


def _mongo_ready(service: Service) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(
        service.url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _nats_ready(service: Service) -> bool:
    """The NATS protocol's own ping: INFO on connect, PING answered by PONG."""
    try:
        with socket.create_connection(("127.0.0.1", service.port), timeout=0.5) as conn:
            conn.settimeout(0.5)
            if not conn.recv(4096).startswith(b"INFO"):
                return False
            conn.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
            return b"PONG" in conn.recv(4096)
    except OSError:
        return False


_READY: dict[str, Callable[[Service], bool]] = {"ferretdb": _mongo_ready, "nats": _nats_ready}


def _wait_until(service: Service, ready: Callable[[Service], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceFailed(
                f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}"
            )
        if ready(service):
            return
        time.sleep(0.1)
    service.stop()
    raise ServiceFailed(f"{service.name} did not answer within {START_TIMEOUT} s:\n{service.log_tail()}")


def _start(
    name: str, workdir: Path, command_for: Callable[[int], list[str]], url_for: Callable[[int], str]
) -> Service:
    """Start on a free port; a port taken between choosing and binding is retried."""
    workdir.mkdir(parents=True, exist_ok=True)
    failure: ServiceFailed | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        command = command_for(port)
        process = _spawn(command, workdir / f"{name}.log")
        service = Service(name, url_for(port), port, process, workdir, command)
        try:
            _wait_until(service, _READY[name])
            return service
        except ServiceFailed as error:
            service.stop()
            failure = error
    assert failure is not None
    raise failure


@contextmanager
def ferretdb(workdir: Path) -> Iterator[Service]:
    binary = ferretdb_binary()
    if binary is None:
        raise ServiceMissing(FERRETDB_HELP)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)

    def command(port: int) -> list[str]:
        return [
            str(binary),
            "--handler=sqlite",
            # One writer at a time per database file: under a burst of concurrent writes the
            # default busy_timeout (10 s) ran out on this 2-core machine (SQLITE_BUSY errors).
            # synchronous(normal) in WAL mode: no fsync per commit (the tests kill flowql, never
            # FerretDB), 4x the inserts/s and 2.4x the updates/s of FerretDB's FULL default.
            f"--sqlite-url=file:{data}/?_pragma=busy_timeout(60000)&_pragma=synchronous(normal)",
            f"--listen-addr=127.0.0.1:{port}",
            "--telemetry=disable",
            "--debug-addr=-",  # its default is a fixed port (127.0.0.1:8088)
            f"--state-dir={workdir}",
            "--log-level=warn",
        ]

    service = _start("ferretdb", workdir, command, lambda port: f"mongodb://127.0.0.1:{port}/")
    try:
        yield service
    finally:
        service.stop()


@contextmanager
def nats_server(workdir: Path) -> Iterator[Service]:
    binary = nats_binary()
    if binary is None:
        raise ServiceMissing(NATS_HELP)
    store = workdir / "jetstream"

    def command(port: int) -> list[str]:
        return [str(binary), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)]

    service = _start("nats", workdir, command, lambda port: f"nats://127.0.0.1:{port}")
    try:
        yield service
    finally:
        service.stop()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@contextmanager
def mongodb_uri(workdir: Path) -> Iterator[str]:
    """The server the MongoDB tests use: FLOWQL_TEST_MONGODB_URI, or a FerretDB started here."""
    given = os.environ.get(MONGODB_URI_VARIABLE)
    if given:
        yield given
        return
    with ferretdb(workdir) as service:
        yield service.url


@contextmanager
def nats_url(workdir: Path) -> Iterator[str]:
    given = os.environ.get(NATS_URL_VARIABLE)
    if given:
        yield given
        return
    with nats_server(workdir) as service:
        yield service.url


__all__ = [
    "FERRETDB_VERSION",
    "MONGODB_URI_VARIABLE",
    "NATS_URL_VARIABLE",
    "Service",
    "ServiceFailed",
    "ServiceMissing",
    "ferretdb",
    "ferretdb_binary",
    "free_port",
    "in_ci",
    "mongodb_uri",
    "nats_binary",
    "nats_server",
    "nats_url",
]
