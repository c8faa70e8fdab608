"""`flowql serve` as a child process on a free port, for the fuzz and subscription-load tests.

The server gets a fresh SQLite file (or the store URI given) and logs JSON lines to a file
the tests read: every line at ERROR or above, or holding a traceback, is a server fault. `/metrics` is parsed
into `{sample name with labels: value}`; `rss()` is the process's resident memory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flowql_command() -> list[str]:
    exe = Path(sys.executable).with_name("flowql")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "flowql.cli"]


class ServerFailed(RuntimeError):
    """The server exited on its own or never became healthy."""


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    db: Path
    log_path: Path
    store: str
    _log_offset: int = field(default=0, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def new_log_lines(self) -> list[str]:
        """Log lines written since the previous call."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._log_offset += len(complete)
        return complete.decode("utf-8", "replace").splitlines()

    def new_faults(self) -> list[str]:
        """New log lines that are server faults: level ERROR/CRITICAL, or a traceback."""
        return [line for line in self.new_log_lines() if is_fault(line)]

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            text = response.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


def is_fault(line: str) -> bool:
    if "Traceback" in line:
        return True
    try:
        entry = json.loads(line)
    except ValueError:
        return bool(line.strip())  # anything not a JSON log line went to stderr unformatted
    return isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL")


@contextmanager
def live_server(
    workdir: Path,
    *flags: str,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
    store: str | None = None,
) -> Iterator[LiveServer]:
    """Start `flowql serve` with a fresh store in `workdir` (or on `store`); SIGTERM it on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # `db` is the SQLite file the server uses (a given sqlite:/// store names its own).
    given_sqlite = store is not None and store.startswith("sqlite:///")
    db = Path(store.removeprefix("sqlite:///")) if store and given_sqlite else workdir / "flowql.db"
    log_path = workdir / "server.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    environ.update({"FLOWQL_LOG_LEVEL": "WARNING", **(env or {})})
    store = store or f"sqlite:///{db}"
    command = [*flowql_command(), "serve", "--port", str(port), "--store", store, *flags]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=environ)
    server = LiveServer(process, port, db, log_path, store)
    try:
        _wait_healthy(server, ready_timeout)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive:
            raise ServerFailed(f"flowql serve exited with {server.process.returncode}:\n{_tail(server)}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise ServerFailed(f"flowql serve not healthy after {timeout} s:\n{_tail(server)}")


def _tail(server: LiveServer) -> str:
    return server.log_path.read_text(errors="replace")[-3000:]


__all__ = ["LiveServer", "ServerFailed", "flowql_command", "free_port", "is_fault", "live_server"]
