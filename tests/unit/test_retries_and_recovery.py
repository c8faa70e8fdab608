"""Retries with backoff, and in-process recovery on a reopened store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowql.engine.ledger import EmbeddedLedger
from flowql.engine.models import InstanceStatus, Posting, StageStatus
from flowql.engine.retry import RetryPolicy
from flowql.engine.stages import SendSpec

from .conftest import EngineFactory, stop
from .test_executor import WORLD, account, run, send, wait_terminated


class FlakyLedger(EmbeddedLedger):
    """Fails the first `failures` sends with a transient error."""

    def __init__(self, store: object, failures: int) -> None:
        super().__init__(store)  # type: ignore[arg-type]
        self.failures = failures
        self.calls = 0

    async def send(self, spec: SendSpec, *, reference: str) -> Posting:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"ledger unreachable (call {self.calls})")
        return await super().send(spec, reference=reference)


async def test_transient_failures_are_retried_and_each_attempt_is_visible(make_engine: EngineFactory) -> None:
    engine = await make_engine()
    flaky = FlakyLedger(engine.store, failures=2)
    engine.executor._deps = engine.executor._deps.__class__(
        ledger=flaky, retry=engine.config.retry, inbox=engine.store.list_inbox
    )
    instance = await run(engine, [send(WORLD, account("users:1"), 5)])
    assert instance.status is InstanceStatus.SUCCEEDED
    [activity] = instance.stages[0].history
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
    assert instance.stages[0].history[-1].attempt == 2
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
