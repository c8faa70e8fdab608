"""Retries with backoff, and in-process recovery on a reopened store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowql.engine.ledger import EmbeddedLedger, Transfer
from flowql.engine.models import Instance, InstanceStatus, Posting, StageStatus
from flowql.engine.retry import RetryPolicy
from flowql.engine.runtime import Engine

from .conftest import EngineFactory, stop
from .test_executor import WORLD, account, history_of, run, send, wait_terminated


class FlakyLedger(EmbeddedLedger):
    """Fails the first `failures` sends with a transient error."""

    def __init__(self, store: object, failures: int) -> None:
        super().__init__(store)  # type: ignore[arg-type]
        self.failures = failures
        self.calls = 0

    async def transfer(self, transfer: Transfer, *, reference: str) -> Posting:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"ledger unreachable (call {self.calls})")
        return await super().transfer(transfer, reference=reference)


async def test_transient_failures_are_retried_and_each_attempt_is_visible(make_engine: EngineFactory) -> None:
    engine = await make_engine()
    flaky = FlakyLedger(engine.store, failures=2)
    engine.executor._deps = engine.executor._deps.__class__(
        ledger=flaky, retry=engine.config.retry, inbox=engine.store.list_inbox
    )
    instance = await run(engine, [send(WORLD, account("users:1"), 5)])
    assert instance.status is InstanceStatus.SUCCEEDED
    [activity] = await history_of(engine, instance)
    assert activity.attempt == 3
    assert activity.last_failure is not None and "unreachable" in activity.last_failure
    assert flaky.calls == 3
    assert len(await engine.store.list_postings()) == 1


async def test_retries_give_up_after_the_limit(make_engine: EngineFactory) -> None:
    engine = await make_engine(retry=RetryPolicy(max_attempts=2, initial_interval=0.01))
    engine.executor._deps = engine.executor._deps.__class__(
        ledger=FlakyLedger(engine.store, failures=10),
        retry=engine.config.retry,
        inbox=engine.store.list_inbox,
    )
    instance = await run(engine, [send(WORLD, account("users:1"), 5)])
    assert instance.status is InstanceStatus.FAILED
    assert (await history_of(engine, instance))[-1].attempt == 2
    assert "gave up after 2 attempts" in (instance.error or "")


async def test_a_reopened_store_resumes_delays_for_the_remaining_time(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    path = tmp_path / "resume.db"
    first = await make_engine(path=path)
    instance = await run(
        first, [{"delay": {"duration": "600ms"}}, {"wait_event": {"event": "go"}}], wait=False
    )
    waiting = await run(first, [{"wait_event": {"event": "go"}}], wait=False)
    await asyncio.sleep(0.1)
    await first.orchestration.send_event(waiting.id, "go")  # accepted, maybe not yet consumed
    await stop(first)

    second = await make_engine(path=path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await second.orchestration.send_event(instance.id, "go")
    done = await wait_terminated(second, instance.id)
    assert done.status is InstanceStatus.SUCCEEDED
    assert loop.time() - started < 0.6  # only the remaining time was waited
    assert (await wait_terminated(second, waiting.id)).status is InstanceStatus.SUCCEEDED
    assert [s.status for s in done.stages] == [StageStatus.SUCCEEDED, StageStatus.SUCCEEDED]


ENDLESS = RetryPolicy(initial_interval=0.01, max_interval=0.02)
"""Formance's policy (no attempt limit) with test-sized intervals."""


async def until_attempt(engine: Engine, instance_id: str, attempt: int) -> Instance:
    for _ in range(500):
        found = await engine.orchestration.get_instance(instance_id)
        history = await history_of(engine, found) if found.stages else []
        if history and history[-1].attempt > attempt:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"attempt {attempt} not passed")


async def test_insufficient_funds_is_retried_until_the_account_is_funded(make_engine: EngineFactory) -> None:
    engine = await make_engine(retry=ENDLESS)
    stuck = await run(engine, [send(account("empty:account"), account("bank"), 100)], wait=False)
    waiting = await until_attempt(engine, stuck.id, 2)
    [pending] = await history_of(engine, waiting)
    assert waiting.status is InstanceStatus.RUNNING and not pending.terminated
    assert pending.last_failure is not None and "insufficient funds" in pending.last_failure
    assert pending.next_execution is not None and pending.error is None

    await run(engine, [send(WORLD, account("empty:account"), 100)])
    done = await wait_terminated(engine, stuck.id)
    assert done.status is InstanceStatus.SUCCEEDED
    [activity] = await history_of(engine, done)
    assert activity.terminated and activity.error is None and activity.attempt > 2
    assert activity.next_execution is None
    assert (await engine.ledger.get_account("default", "bank")).balances == {"USD/2": 100}


async def test_cancel_between_retry_attempts(make_engine: EngineFactory) -> None:
    engine = await make_engine(retry=ENDLESS)
    stuck = await run(engine, [send(account("empty:account"), account("bank"), 100)], wait=False)
    await until_attempt(engine, stuck.id, 1)
    cancelled = await engine.orchestration.cancel_instance(stuck.id)
    assert cancelled.status is InstanceStatus.CANCELLED
    assert cancelled.error == "canceled" and cancelled.stages[0].error == "canceled"
    [activity] = await history_of(engine, cancelled)
    assert activity.terminated and activity.error == "cancelled" and activity.next_execution is None
    attempts = activity.attempt
    await asyncio.sleep(0.1)  # scheduled retries find the instance terminated
    after = await engine.orchestration.get_instance(stuck.id)
    assert after.status is InstanceStatus.CANCELLED
    assert (await history_of(engine, after))[0].attempt == attempts
    assert await engine.store.list_postings() == []


async def test_a_workflow_bounds_its_own_attempts(make_engine: EngineFactory) -> None:
    engine = await make_engine(retry=ENDLESS)
    workflow = await engine.orchestration.create_workflow(
        name="bounded", stages=[send(account("empty:account"), account("bank"), 1)], retry={"maxAttempts": 2}
    )
    assert workflow.config.retry is not None and workflow.config.retry.max_attempts == 2
    done = await engine.orchestration.run_workflow(workflow.id, wait=True)
    assert done.status is InstanceStatus.FAILED and "gave up after 2 attempts" in (done.error or "")


def test_backoff_is_formances_by_default() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts is None and not policy.exhausted(10_000)
    assert [policy.delay_after(n).total_seconds() for n in (1, 2, 3, 7, 8, 500)] == [1, 2, 4, 64, 100, 100]
    assert RetryPolicy(max_attempts=9).bounded(3).max_attempts == 3
    assert RetryPolicy(max_attempts=2).bounded(3).max_attempts == 2
    assert RetryPolicy().bounded(None).max_attempts is None
