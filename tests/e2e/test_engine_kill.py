"""SIGKILL the engine mid-delay, mid-wait and mid-send; restart; everything finishes once.
On a SQLite file and on a database of the session's MongoDB server (`both_stores`)."""

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

pytestmark = [pytest.mark.both_stores, pytest.mark.heavy]

N = 25  # instances of each of the four workflows


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

    seeding = start(db, "seed", str(N))
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

    assert report["instances"] == 4 * N
    assert report["statuses"] == {"SUCCEEDED": 4 * N}
    expected_postings = N * 1 + N * 1 + 0 + N * 3  # delay, wait, early, sends
    assert report["postings"] == expected_postings
    assert report["references"] == expected_postings  # no posting doubled
    assert report["asset_sums"] == {"USD/2": 0}
    assert report["negative"] == []
    assert report["mismatched_balances"] == []
