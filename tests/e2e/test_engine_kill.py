"""SIGKILL the engine mid-delay, mid-wait and mid-send; restart; everything finishes once.
On a SQLite file and on a database of the session's MongoDB server (`both_stores`).

On MongoDB, N is MONGODB_N instances of each workflow instead of 25: the same kills at the
same kinds of moments (a send in flight, delays pending, early events in the inbox, the crash
point after a posting) and the same checks, with fewer instances caught by each; FerretDB
(one writer, ~20x slower per write than the SQLite store) took over 90 s to finish 100."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.both_stores]

SQLITE_N = 25  # instances of each of the four workflows
MONGODB_N = 10


def start(db: str, phase: str, *args: str, crash_at: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("FLOWQL_CRASH_AT", None)
    if crash_at:
        env["FLOWQL_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.engine_worker", db, phase, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )


def wait_line(process: subprocess.Popen[str], expected: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line == expected, f"worker said {line!r}, exit code {process.poll()}"


def kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL


def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(store_uri: str) -> None:
    rng = random.Random(int(os.environ.get("FLOWQL_TEST_SEED", "7")))
    db = store_uri
    n = MONGODB_N if store_uri.startswith("mongodb") else SQLITE_N

    seeding = start(db, "seed", str(n))
    wait_line(seeding, "seeded")
    time.sleep(rng.uniform(0.05, 0.3))  # sends in flight, delays pending, events in the inbox
    kill(seeding)

    # mid-send: die right after a posting was applied, before the stage's commit
    mid_send = start(db, "resume", crash_at="after-activity:3")
    mid_send.wait(30)
    assert mid_send.returncode == -signal.SIGKILL, "the crash point was never reached"

    for _ in range(2):
        resumed = start(db, "resume")
        wait_line(resumed, "running")
        time.sleep(rng.uniform(0.2, 1.0))
        kill(resumed)

    finish = start(db, "finish")
    out, _ = finish.communicate(timeout=90)
    assert finish.returncode == 0, out
    report = json.loads(out.strip().splitlines()[-1])

    assert report["instances"] == 4 * n
    assert report["statuses"] == {"SUCCEEDED": 4 * n}
    expected_postings = n * 1 + n * 1 + 0 + n * 3  # delay, wait, early, sends
    assert report["postings"] == expected_postings
    assert report["references"] == expected_postings  # no posting doubled
    assert report["asset_sums"] == {"USD/2": 0}
    assert report["negative"] == []
    assert report["mismatched_balances"] == []
