"""A real `flowql serve` process that the soak kills with SIGKILL and starts again.

Every generation of the process appends to one log file; the `flowql ready` line of each
start says how many instances it resumed. A generation may be armed with a named crash
point (`FLOWQL_CRASH_AT=after-activity:n`, engine/faults.py): it then SIGKILLs itself right
after its n-th activity (a posting applied) and before that stage's commit.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.e2e.live_server import flowql_command, free_port


class ServerFailed(RuntimeError):
    """The server exited on its own or never became healthy."""


@dataclass(frozen=True, slots=True)
class Start:
    """One start of the process: seconds from spawn to GET /healthz 200, instances resumed."""

    healthy_after: float
    resumed: int | None
    crash_at: str | None = None


class Server:
    def __init__(self, store: str, workdir: Path, *, port: int | None = None) -> None:
        self.store = store
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.starts: list[Start] = []
        self.kills = 0
        self.crashes = 0
        """Generations that killed themselves at their crash point."""
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def spawn(self, crash_at: str | None = None) -> None:
        if self.running:
            raise ServerFailed("the previous generation is still running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
        if crash_at:
            env["FLOWQL_CRASH_AT"] = crash_at
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                # the overdraw runs must end FAILED: insufficient funds is retried (as Formance
                # does) until this bound
                [
                    *flowql_command(),
                    "serve",
                    "--port",
                    str(self.port),
                    "--store",
                    self.store,
                    "--max-attempts",
                    "2",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
            )

    async def start(self, timeout: float = 60.0, *, crash_at: str | None = None) -> Start | None:
        """Spawn and wait for GET /healthz 200; None when an armed generation reached its
        crash point before that."""
        began = time.monotonic()
        self.spawn(crash_at)
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - began < timeout:
                if not self.running:
                    if crash_at and self._exit_code() == -signal.SIGKILL:
                        self.crashes += 1
                        return None
                    raise ServerFailed(f"flowql serve exited with {self._exit_code()}:\n{self.tail()}")
                try:
                    async with http.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            start = Start(round(time.monotonic() - began, 3), self._resumed(), crash_at)
                            self.starts.append(start)
                            return start
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.05)
        raise ServerFailed(f"not healthy after {timeout} s:\n{self.tail()}")

    async def until_crashed(self, timeout: float) -> bool:
        """Wait for an armed generation to kill itself; False if it is still up after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                if self._exit_code() != -signal.SIGKILL:
                    raise ServerFailed(f"flowql serve exited with {self._exit_code()}:\n{self.tail()}")
                self.crashes += 1
                return True
            await asyncio.sleep(0.02)
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed beyond what was committed."""
        assert self._process is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        code = self._process.wait(10)
        if code != -signal.SIGKILL:
            raise ServerFailed(f"server had exited with {code} before the kill:\n{self.tail()}")
        self.kills += 1

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM: graceful shutdown; returns the exit code."""
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise ServerFailed(f"no graceful stop within {timeout} s:\n{self.tail()}") from None

    def tail(self, size: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else ""

    def errors(self) -> list[str]:
        """Log lines at ERROR or above, over every generation."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
            try:
                entry = json.loads(line)
            except ValueError:
                found.append(line)  # not a JSON log line: a traceback printed outside logging
                continue
            if entry.get("level") in {"ERROR", "CRITICAL"}:
                found.append(line)
        return found

    def _exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    def _resumed(self) -> int | None:
        with self.log.open("rb") as f:
            f.seek(self._log_offset)
            for raw in f:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if entry.get("msg") == "flowql ready":
                    return int(entry.get("resumed", 0))
        return None


__all__ = ["Server", "ServerFailed", "Start", "free_port"]
