"""`flowql serve` with a store it cannot use exits non-zero with one line, never a traceback
and never a hang: unreachable or silent MongoDB (bounded by --store-timeout, password
redacted), a bad URI scheme, a SQLite file in a missing directory, a path that is a
directory, a file that is not a database, a corrupt database (PRAGMA quick_check)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live_server import flowql_command, free_port

BOUND = 90.0
"""No test waits longer than this for the process to exit (a hang fails, it does not block)."""


def serve(store: str, cwd: Path, *flags: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    command = [*flowql_command(), "serve", "--port", str(free_port()), "--store", store, *flags]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=environ
    )


def refused(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit code and the one line it printed besides the JSON log (whose INFO "starting
    flowql" may come first: nothing at WARNING or above)."""
    try:
        out, err = process.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("flowql serve did not exit") from None
    assert "Traceback" not in out + err, out + err
    lines = (out + err).strip().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert all(entry["level"] in ("DEBUG", "INFO") for entry in logged), lines
    said = [line for line in lines if not line.startswith("{")]
    assert len(said) == 1, lines
    return process.returncode, said[0]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def corrupt_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("CREATE INDEX t_v ON t (v)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"value {i}" * 20,) for i in range(2000)])
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 7 * page):  # scribble over some B-tree pages
        data[offset + 100 : offset + 400] = os.urandom(300)
    path.write_bytes(bytes(data))


def test_every_bad_store_exits_with_one_line(tmp_path: Path, silent_server: int) -> None:
    closed = free_port()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database, it is a text file\n" * 100)
    corrupt = tmp_path / "corrupt.db"
    corrupt_database(corrupt)
    (tmp_path / "a-directory.db").mkdir()
    cases = {
        "unreachable": (
            f"mongodb://ops:hunter2@127.0.0.1:{closed}/flowql",
            1,
            [f"127.0.0.1:{closed}", "ops:***@"],
        ),
        "silent": (f"mongodb://127.0.0.1:{silent_server}/flowql", 1, [f"127.0.0.1:{silent_server}"]),
        "scheme": ("postgres://ops:hunter2@db/flowql", 2, ["sqlite:///path or mongodb://", "ops:***@"]),
        "no host": ("mongodb://", 2, ["mongodb://"]),
        "missing dir": ("sqlite:///no/such/dir/flowql.db", 1, ["no/such/dir", "does not exist"]),
        "a directory": (f"sqlite:///{tmp_path / 'a-directory.db'}", 1, ["a-directory.db", "not a file"]),
        "not a database": (f"sqlite:///{garbage}", 1, [str(garbage), "not a database"]),
        "corrupt": (f"sqlite:///{corrupt}", 1, [str(corrupt)]),
    }
    # All at once: each pays the interpreter's start-up, the test pays it once.
    processes = {
        name: serve(store, tmp_path, "--store-timeout", "2") for name, (store, _, _) in cases.items()
    }
    for name, process in processes.items():
        _, code, needles = cases[name]
        status, line = refused(process)
        assert status == code, (name, status, line)
        assert line.startswith("flowql: "), (name, line)
        for needle in needles:
            assert needle in line, (name, needle, line)
        assert "hunter2" not in line, (name, line)
    assert not (tmp_path / "no").exists(), "a missing directory is not created"
