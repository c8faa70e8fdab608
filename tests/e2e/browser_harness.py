"""Shared pieces of the browser tests: a real `flowql serve` process and the Node driver.

The browser side lives in `tests/e2e/browser/*.mjs` (playwright-core driving Debian's
`/usr/bin/chromium`, no browser download); each script exits non-zero on failure and
saves screenshots under `test-artifacts/`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flowql_command() -> list[str]:
    exe = Path(sys.executable).with_name("flowql")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "flowql.cli"]


@contextmanager
def flowql_server(tmp_path: Path, *extra: str) -> Iterator[str]:
    """Run `flowql serve` on a free port with a fresh SQLite store; yield its base URL."""
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [*_flowql_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--store", f"sqlite:///{tmp_path / 'flowql.db'}", *extra],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"flowql serve exited with {proc.returncode}:\n{_tail(tmp_path)}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"flowql serve not healthy after 30 s:\n{_tail(tmp_path)}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(tmp_path: Path, lines: int = 40) -> str:
    text = (tmp_path / "server.log").read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def run_browser_script(name: str, url: str, tmp_path: Path, *, timeout: float = 120) -> str:
    """Run `node tests/e2e/browser/<name>.mjs <url> test-artifacts`; fail with its output."""
    ARTIFACTS.mkdir(exist_ok=True)
    result = subprocess.run(
        ["node", str(SCRIPTS / f"{name}.mjs"), url, str(ARTIFACTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    if result.returncode != 0:
        pytest.fail(f"browser script {name}.mjs failed ({result.returncode}):\n{output}\n"
                    f"--- server log (tail)\n{_tail(tmp_path)}")
    return output
