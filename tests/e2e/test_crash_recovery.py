"""`flowql serve` killed with SIGKILL at random moments while runs and events keep coming.

A short soak (tests/e2e/soak_driver.py; the long one is tests/bench/soak.py): every run ends
as its scenario says, no accepted event is lost, no posting is doubled, every asset sums to
zero, no balance goes below zero without an overdraft. `FLOWQL_TEST_SEED` changes the plan
and the kill moments; the figures are printed (`pytest -s`). Runs on a SQLite file and on a
fresh database of the session's MongoDB server (FerretDB, or FLOWQL_TEST_MONGODB_URI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .soak_driver import SoakConfig, SoakReport, fresh_mongo_database, run_soak
from .soak_scenario import Timing

SEED = int(os.environ.get("FLOWQL_TEST_SEED", "7"))


def check(report: SoakReport, *, kills: int) -> None:
    print("\n".join(report.lines()))
    verdict = report.verdict
    assert verdict.violations == [], "\n".join(verdict.violations[:30])
    assert report.kills == kills
    assert report.crashes == report.config.crash_points, "the armed restart reached its crash point"
    assert len([s for s in report.starts if not s.crash_at]) == 1 + kills, "one restart after each kill"
    assert report.exit_code == 0, "graceful stop after the soak"
    assert report.error_lines == [], "the server logged errors:\n" + "\n".join(report.error_lines[:10])
    assert verdict.instances == report.config.instances
    assert sum(verdict.statuses.values()) == verdict.instances
    assert verdict.statuses.keys() <= {"SUCCEEDED", "FAILED"}
    consumed = verdict.events_accepted + verdict.events_kept_unanswered
    assert verdict.events_consumed == consumed, "every accepted event consumed"
    assert verdict.events_early > 0, "some events must arrive before their stage (the scenario's point)"
    assert verdict.postings > 0


@pytest.mark.timeout(150)
async def test_sigkill_soak_on_sqlite(tmp_path: Path) -> None:
    config = SoakConfig(store=f"sqlite:///{tmp_path / 'soak.db'}", workdir=tmp_path, seed=SEED)
    check(await run_soak(config), kills=config.kills)


@pytest.mark.timeout(240)
async def test_sigkill_soak_on_mongodb(tmp_path: Path, mongodb_uri: str) -> None:
    """Fewer runs and kills than on SQLite (FerretDB 1.24 scans its collections for every
    write, docs/mongodb.md): the same scenario mix, the same kills at random moments and the
    crash point after a posting, so the same properties are checked."""
    async with fresh_mongo_database(mongodb_uri) as uri:
        config = SoakConfig(store=uri, workdir=tmp_path, seed=SEED, instances=60, kills=3, concurrency=8)
        check(await run_soak(config), kills=config.kills)


@pytest.mark.slow  # 150 runs / 3 kills: over the CI budget on FerretDB 1.24
@pytest.mark.timeout(600)
async def test_full_sigkill_soak_on_mongodb(tmp_path: Path, mongodb_uri: str) -> None:
    """The SQLite soak's size on MongoDB: over the CI budget on FerretDB 1.24."""
    async with fresh_mongo_database(mongodb_uri) as uri:
        config = SoakConfig(store=uri, workdir=tmp_path, seed=SEED)
        check(await run_soak(config), kills=config.kills)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_long_sigkill_soak_on_sqlite(tmp_path: Path) -> None:
    """What tests/bench/soak.py runs by default: 1,000 runs, 6 kills, 2 of them followed by a
    restart that dies at a crash point."""
    config = SoakConfig(
        store=f"sqlite:///{tmp_path / 'soak.db'}",
        workdir=tmp_path,
        instances=1000,
        kills=6,
        crash_points=2,
        crash_after=(3, 60),
        seed=SEED,
        timing=LONG,
    )
    check(await run_soak(config), kills=config.kills)


LONG = Timing(window=40.0, delay=(0.2, 5.0), event_offset=(0.0, 6.0))
