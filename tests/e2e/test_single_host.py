"""SQLite is single-host: a second `flowql serve` on the same file is refused with one line,
and the lock goes with its holder however it ends (SIGKILL included)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.live_server import flowql_command, free_port, live_server

pytestmark = pytest.mark.timeout(90)


def _serve(db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    env["FLOWQL_LOG_LEVEL"] = "WARNING"
    return subprocess.run(
        [*flowql_command(), "serve", "--port", str(free_port()), "--store", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=30,
    )


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    with live_server(tmp_path / "first", "--node-id", "first-node") as first:
        refused = _serve(first.db, tmp_path)
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert lines == [
            f"flowql: refusing to start: SQLite store {first.db} is in use by flowql first-node; SQLite is "
            "single-host (one flowql serve per file): use a MongoDB store for several replicas"
        ], refused.stderr
        assert first.alive and first.new_faults() == []

        first.process.send_signal(signal.SIGKILL)  # the kernel drops the lock with its holder
        first.process.wait(timeout=10)
    with live_server(tmp_path / "first") as second:  # the same file: the lock went with its holder
        assert second.db == first.db and second.alive
