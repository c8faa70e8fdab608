"""Shared pieces of the browser tests: a real `flowql serve` process and the Node driver.

The browser side lives in `tests/e2e/browser/*.mjs` (playwright-core driving Debian's
`/usr/bin/chromium`, no browser download); each script exits non-zero on failure and
saves screenshots under `test-artifacts/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.live_server import flowql_command, free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "browser"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("FLOWQL_CHROMIUM", "/usr/bin/chromium"))
PLAYWRIGHT = ROOT / "node_modules" / "playwright-core"


def skip_without_browser() -> None:
    """Skip (with the way to fix it) when chromium, node or playwright-core is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    if shutil.which("node") is None:
        pytest.skip("node not found: the browser tests drive chromium through Node.js + playwright-core")
    if not PLAYWRIGHT.is_dir():
        pytest.skip(f"{PLAYWRIGHT} not found: run `npm ci` at the repository root")


class FlowqlServer:
    """`flowql serve` on a fixed port and SQLite file; can be killed and started again."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.tmp_path / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *flowql_command(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--store",
                    f"sqlite:///{self.tmp_path / 'flowql.db'}",
                    *self.extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp_path,
            )
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.proc.poll() is not None:
                pytest.fail(f"flowql serve exited with {self.proc.returncode}:\n{_tail(self.tmp_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"flowql serve not healthy after 30 s:\n{_tail(self.tmp_path)}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, open WebSockets just drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def flowql_server(tmp_path: Path, *extra: str) -> Iterator[FlowqlServer]:
    """Run `flowql serve` on a free port with a fresh SQLite store; stop it afterwards."""
    server = FlowqlServer(tmp_path, *extra)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _tail(tmp_path: Path, lines: int = 25, width: int = 600) -> str:
    text = (tmp_path / "server.log").read_text(errors="replace")
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])


def run_browser_script(
    name: str,
    url: str,
    tmp_path: Path,
    *,
    timeout: float = 120,
    actions: Mapping[str, Callable[[], None]] | None = None,
) -> str:
    """Run `node tests/e2e/browser/<name>.mjs <url> test-artifacts`; fail with its output.

    A script asks for a server-side step by printing `@@<action>` and waiting for a line
    on stdin: the matching callable of `actions` runs, then the script is told to go on.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    stderr_path = tmp_path / f"{name}.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            ["node", str(SCRIPTS / f"{name}.mjs"), url, str(ARTIFACTS)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines: list[str] = []
        try:
            assert proc.stdout is not None and proc.stdin is not None
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("@@"):
                    (actions or {})[line[2:].strip()]()
                    proc.stdin.write("done\n")
                    proc.stdin.flush()
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = f"--- stdout\n{''.join(lines)}\n--- stderr\n{stderr_path.read_text()}"
    if proc.returncode != 0:
        pytest.fail(
            f"browser script {name}.mjs failed ({proc.returncode}):\n{output}\n"
            f"--- server log (tail)\n{_tail(tmp_path)}"
        )
    return output
