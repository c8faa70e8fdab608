"""The soak's checks can fail: run the scenario in-process, then break the store and expect
each broken invariant to be reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowql.engine.clock import utc_now
from flowql.engine.models import Posting
from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import Engine, EngineConfig
from flowql.storage.sqlite import SqliteStore

from .soak_scenario import WALLETS, WORKFLOWS, PlannedRun, Timing, plan
from .soak_verify import Sent, verify

FAST = Timing(window=0.0, delay=(0.01, 0.05), event_offset=(0.0, 0.0))


@dataclass
class Soaked:
    store: SqliteStore
    runs: list[PlannedRun]
    ids: dict[str, str]
    sent: dict[str, Sent]


@pytest.fixture
async def soaked(tmp_path: Path) -> AsyncIterator[Soaked]:
    store = SqliteStore(str(tmp_path / "verify.db"))
    await store.open()
    # The overdrawing runs must end FAILED, as soak_server's --max-attempts 2 makes them:
    # insufficient funds are retried without bound by default (Formance's policy).
    engine = Engine(
        store, EngineConfig(retry=RetryPolicy(max_attempts=2, initial_interval=0.01, max_interval=0.05))
    )
    await engine.start()
    wallets = {}
    for k in range(WALLETS):
        created = await engine.ledger.create_wallet(f"soak-{k}", "default", {})
        wallets[created.name] = created.account()
    workflows = {}
    for name, stages in WORKFLOWS.items():
        workflows[name] = (await engine.orchestration.create_workflow(name=name, stages=stages)).id
    runs = plan(40, seed=3, timing=FAST, wallets=wallets)
    ids: dict[str, str] = {}
    sent: dict[str, Sent] = {}
    for run in runs:
        instance = await engine.orchestration.run_workflow(workflows[run.workflow], run.variables)
        ids[run.key] = instance.id
        sent[run.key] = Sent()
        for name, _ in run.events:
            await engine.orchestration.send_event(instance.id, name)
            sent[run.key].accepted[name] += 1
    async with asyncio.timeout(30):
        while await store.running_instance_ids():
            await asyncio.sleep(0.05)
    await engine.stop()
    yield Soaked(store, runs, ids, sent)
    await store.close()


async def violations(s: Soaked) -> list[str]:
    return (await verify(s.store, s.runs, s.ids, s.sent)).violations


async def test_a_clean_run_has_no_violation(soaked: Soaked) -> None:
    verdict = await verify(soaked.store, soaked.runs, soaked.ids, soaked.sent)
    assert verdict.violations == []
    assert verdict.instances == 40
    assert verdict.events_consumed == verdict.events_accepted > 0
    assert verdict.postings == sum(len(r.postings) for r in soaked.runs)


async def test_an_accepted_event_missing_from_the_inbox_is_lost(soaked: Soaked) -> None:
    run = next(r for r in soaked.runs if r.events)
    soaked.sent[run.key].accepted[run.events[0][0]] += 1
    assert any("(lost)" in v for v in await violations(soaked))


async def test_an_extra_posting_and_a_negative_balance_are_reported(soaked: Soaked) -> None:
    extra = Posting(
        reference="intruder:0",
        ledger="default",
        source="users:r0",
        destination="merchants:0",
        asset="USD/2",
        amount=10**30,
        timestamp=utc_now(),
    )
    await soaked.store.post(extra, allow_overdraft=True)
    found = await violations(soaked)
    assert any("intruder:0: not expected" in v for v in found)
    assert any("users:r0" in v and "without overdraft" in v for v in found)


async def test_a_posting_applied_twice_is_reported(soaked: Soaked) -> None:
    run = soaked.runs[0]
    first = run.postings[0]
    twin = Posting(
        reference=f"{soaked.ids[run.key]}:{first.stage}:again",
        ledger="default",
        source=first.source,
        destination=first.destination,
        asset="USD/2",
        amount=first.amount,
        timestamp=utc_now(),
    )
    await soaked.store.post(twin)
    assert any(":again: not expected" in v for v in await violations(soaked))


async def test_a_wrong_outcome_and_an_unknown_instance_are_reported(soaked: Soaked) -> None:
    failing = next(r for r in soaked.runs if r.fails_at is not None)
    failing.fails_at = None  # the plan now expects SUCCEEDED
    soaked.ids[soaked.runs[1].key] = "no-such-instance"
    found = await violations(soaked)
    assert any(f"run {failing.key}" in v and "expected SUCCEEDED" in v for v in found)
    assert any("no instance" in v for v in found)
