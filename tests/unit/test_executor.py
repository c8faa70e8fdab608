"""The executor end to end on a real SQLite store: stages, variables, events, retries, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import Activity, Instance, InstanceStatus, StageStatus
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine

WORLD = {"account": {"id": "world"}}


def account(address: str) -> dict[str, Any]:
    return {"account": {"id": address}}


def send(
    source: dict[str, Any], destination: dict[str, Any], amount: int | str, **extra: Any
) -> dict[str, Any]:
    return {
        "send": {
            "source": source,
            "destination": destination,
            "amount": {"amount": amount, "asset": "USD/2"},
            **extra,
        }
    }


async def run(
    engine: Engine, stages: list[dict[str, Any]], variables: dict[str, str] | None = None, **kw: Any
) -> Instance:
    workflow = await engine.orchestration.create_workflow(name="t", stages=stages)
    kw.setdefault("wait", True)
    return await engine.orchestration.run_workflow(workflow.id, variables, **kw)


async def history_of(engine: Engine, instance: Instance, stage: int = 0) -> list[Activity]:
    """A stage's history as stored (it lives beside the instance, not in it)."""
    return await engine.orchestration.stage_history(instance.id, stage)


def statuses(instance: Instance) -> list[StageStatus]:
    return [stage.status for stage in instance.stages]


async def test_send_update_send_moves_money_and_records_history(engine: Engine) -> None:
    instance = await run(
        engine,
        [
            send(WORLD, account("users:1"), 500),
            {"update": {"account": {"id": "users:1", "ledger": "default", "metadata": {"tier": "gold"}}}},
            send(account("users:1"), account("merchants:1"), 200),
        ],
    )
    assert instance.status is InstanceStatus.SUCCEEDED
    assert statuses(instance) == [StageStatus.SUCCEEDED] * 3
    user = await engine.ledger.get_account("default", "users:1")
    assert user.balances == {"USD/2": 300}
    assert user.metadata == {"tier": "gold"}
    assert (await engine.ledger.get_account("default", "merchants:1")).balances == {"USD/2": 200}
    history = await engine.orchestration.stage_history(instance.id, 0)
    assert [(a.name, a.attempt, a.terminated) for a in history] == [("CreateTransaction", 1, True)]
    transitions = await engine.orchestration.transitions(instance.id)
    assert [(t.seq, t.stage, t.status) for t in transitions] == [
        (1, 0, StageStatus.RUNNING),
        (2, 0, StageStatus.SUCCEEDED),
        (3, 1, StageStatus.RUNNING),
        (4, 1, StageStatus.SUCCEEDED),
        (5, 2, StageStatus.RUNNING),
        (6, 2, StageStatus.SUCCEEDED),
    ]
    assert transitions[-1].instance_status is InstanceStatus.SUCCEEDED
    assert {t.instance_status for t in transitions[:-1]} == {InstanceStatus.RUNNING}


async def test_variables_are_interpolated_and_a_missing_one_fails_the_stage(engine: Engine) -> None:
    stages = [send(WORLD, account("users:${user}"), "${amount}")]
    done = await run(engine, stages, {"user": "7", "amount": "42"})
    assert done.status is InstanceStatus.SUCCEEDED
    assert (await engine.ledger.get_account("default", "users:7")).balances == {"USD/2": 42}
    failed = await run(engine, stages, {"user": "8"})
    assert failed.status is InstanceStatus.FAILED
    assert failed.stages[0].status is StageStatus.FAILED
    # as Formance: the missing variable reads as "", so the required amount is missing
    assert failed.error == "VALIDATION: stages[0].send.amount.amount: required field is missing"


async def test_insufficient_funds_is_retried_up_to_the_servers_bound(engine: Engine) -> None:
    instance = await run(engine, [send(account("users:poor"), account("users:2"), 1)])
    assert instance.status is InstanceStatus.FAILED  # the test policy allows 3 attempts
    assert "gave up after 3 attempts" in (instance.error or "")
    assert "insufficient funds" in (instance.error or "")
    [activity] = await history_of(engine, instance)
    assert activity.attempt == 3 and activity.terminated
    assert await engine.store.list_postings() == []


async def test_overdraft_when_allowed(engine: Engine) -> None:
    instance = await run(engine, [send(account("users:a"), account("users:b"), 10, allowOverdraft=True)])
    assert instance.status is InstanceStatus.SUCCEEDED
    assert (await engine.ledger.get_account("default", "users:a")).balances == {"USD/2": -10}


async def test_payment_endpoint_is_refused_at_create_naming_the_missing_service(engine: Engine) -> None:
    for stages, field in (
        ([send({"payment": {"id": "p1"}}, account("users:1"), 1)], "stages[0].send.source.payment"),
        ([{"noop": {}}, send(WORLD, {"payment": {"id": "p"}}, 1)], "stages[1].send.destination.payment"),
    ):
        with pytest.raises(FlowqlError) as caught:
            await engine.orchestration.create_workflow(name="pay", stages=stages)
        assert (caught.value.code, caught.value.field) == (ErrorCode.VALIDATION, field)
        assert "no payments service" in caught.value.message
    assert (await engine.orchestration.list_workflows(PageRequest())).items == []  # nothing stored


async def test_wallets_by_name_and_unknown_wallet(engine: Engine) -> None:
    wallet = await engine.ledger.create_wallet("alice", "default", {})
    done = await run(engine, [send(WORLD, {"wallet": {"name": "alice"}}, 70)])
    assert done.status is InstanceStatus.SUCCEEDED
    account_ = await engine.ledger.get_account("default", f"wallets:{wallet.id.replace('-', '')}:main")
    assert account_.balances == {"USD/2": 70}  # Formance's wallet account: the id without dashes
    assert [a.name for a in await history_of(engine, done)] == ["ListWallets", "CreditWallet"]
    unknown = await run(engine, [send(WORLD, {"wallet": {"name": "bob"}}, 1)])
    assert unknown.status is InstanceStatus.FAILED
    assert "unknown wallet" in (unknown.error or "")


async def test_delay_waits_then_succeeds(engine: Engine) -> None:
    instance = await run(engine, [{"delay": {"duration": "300ms"}}], wait=False)
    await asyncio.sleep(0.1)
    waiting = await engine.orchestration.get_instance(instance.id)
    assert statuses(waiting) == [StageStatus.WAITING]
    assert waiting.wake_at is not None
    done = await wait_terminated(engine, instance.id)
    assert done.status is InstanceStatus.SUCCEEDED
    assert done.wake_at is None


async def test_wait_event_ignores_other_names_and_keeps_early_events(engine: Engine) -> None:
    stages = [{"delay": {"duration": "200ms"}}, {"wait_event": {"event": "approved"}}]
    workflow = await engine.orchestration.create_workflow(name="w", stages=stages)
    instance = await engine.orchestration.run_workflow(workflow.id)
    await engine.orchestration.send_event(instance.id, "noise")
    await engine.orchestration.send_event(instance.id, "approved")  # before the stage is reached
    done = await wait_terminated(engine, instance.id)
    assert done.status is InstanceStatus.SUCCEEDED
    history = await engine.orchestration.stage_history(instance.id, 1)
    assert [(a.name, a.input["name"]) for a in history] == [
        ("IgnoreEvent", "noise"),
        ("ReceiveEvent", "approved"),
    ]


async def test_wait_event_completes_on_a_later_event(engine: Engine) -> None:
    instance = await run(engine, [{"wait_event": {"event": "go"}}], wait=False)
    await asyncio.sleep(0.05)
    assert statuses(await engine.orchestration.get_instance(instance.id)) == [StageStatus.WAITING]
    await engine.orchestration.send_event(instance.id, "go")
    assert (await wait_terminated(engine, instance.id)).status is InstanceStatus.SUCCEEDED


async def test_cancel_waiting_instance_then_twice_then_finished(engine: Engine) -> None:
    instance = await run(engine, [{"wait_event": {"event": "never"}}], wait=False)
    await asyncio.sleep(0.05)
    cancelled = await engine.orchestration.cancel_instance(instance.id)
    assert cancelled.status is InstanceStatus.CANCELLED
    assert statuses(cancelled) == [StageStatus.CANCELLED]
    again = await engine.orchestration.cancel_instance(instance.id)
    assert again.status is InstanceStatus.CANCELLED and again.version == cancelled.version
    finished = await run(engine, [send(WORLD, account("users:1"), 1)])
    with pytest.raises(FlowqlError) as caught:
        await engine.orchestration.cancel_instance(finished.id)
    assert caught.value.code is ErrorCode.CONFLICT


async def test_run_with_wait_times_out_to_the_running_instance(engine: Engine) -> None:
    instance = await run(engine, [{"wait_event": {"event": "never"}}], timeout=0.1)
    assert instance.status is InstanceStatus.RUNNING
    assert engine.executor._waiters == {}


async def test_deleted_workflow_refuses_runs_but_running_instances_go_on(engine: Engine) -> None:
    workflow = await engine.orchestration.create_workflow(name="d", stages=[{"wait_event": {"event": "go"}}])
    instance = await engine.orchestration.run_workflow(workflow.id)
    await engine.orchestration.delete_workflow(workflow.id)
    with pytest.raises(FlowqlError) as caught:
        await engine.orchestration.run_workflow(workflow.id)
    assert caught.value.code is ErrorCode.NOT_FOUND
    await engine.orchestration.send_event(instance.id, "go")
    assert (await wait_terminated(engine, instance.id)).status is InstanceStatus.SUCCEEDED


async def test_watch_replays_then_follows_live_and_ends(engine: Engine) -> None:
    instance = await run(engine, [{"wait_event": {"event": "go"}}, send(WORLD, account("x"), 1)], wait=False)
    await asyncio.sleep(0.05)
    seen: list[int] = []

    async def watch() -> None:
        async for transition in engine.orchestration.watch_instance(instance.id):
            seen.append(transition.seq)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    await engine.orchestration.send_event(instance.id, "go")
    await asyncio.wait_for(watcher, 5)
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) == 5  # RUNNING, WAITING, SUCCEEDED, RUNNING, SUCCEEDED


async def wait_terminated(engine: Engine, instance_id: str, timeout: float = 5.0) -> Instance:
    async with asyncio.timeout(timeout):
        while True:
            instance = await engine.orchestration.get_instance(instance_id)
            if instance.terminated:
                return instance
            await asyncio.sleep(0.02)
