"""Start-up failures of `flowql serve` are one line and an exit (issue #14, item 9): no
traceback, no "flowql ready" before the port is bound, never a live process that does not
listen."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.live_server import flowql_command, free_port


def serve(tmp_path: Path, *flags: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    command = [*flowql_command(), "serve", "--port", str(port or free_port()), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=environ)


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "flowql ready" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowql:")]
    assert len(lines) == 1, output
    return lines[0]


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "--store", f"sqlite:///{tmp_path / 'x.db'}", port=port)
    line = one_line_failure(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line
    assert not (tmp_path / "x.db").exists()  # nothing started before the bind


@pytest.mark.parametrize("case", ["corrupt", "read-only directory"])
def test_unusable_sqlite_file(tmp_path: Path, case: str) -> None:
    if case == "corrupt":
        target = tmp_path / "corrupt.db"
        target.write_bytes(b"this is not a database file" * 200)
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        target = folder / "x.db"
    one_line_failure(serve(tmp_path, "--store", f"sqlite:///{target}"))
