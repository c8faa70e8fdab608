"""Formance's orchestration events out of a real `flowql serve`, with a SIGKILL mid-run.

A JetStream subscriber reads every event published on the events subject; the server is
killed with SIGKILL while instances run, started again on the same store, and once every
instance has terminated each one has exactly its Formance events (pkg/events/events.go),
and each trigger occurrence its SUCCEEDED_TRIGGER or FAILED_TRIGGER: none missing and
none stored twice (the outbox republishes what the kill left unsent; the
`Nats-Msg-Id` of each event lets JetStream drop the copies).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from .live_server import live_server

pytestmark = pytest.mark.timeout(120)

RUNS = 24
SEND = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:${user}"}},
        "amount": {"amount": "10", "asset": "EUR/2"},
    }
}
STAGES = [SEND, {"delay": {"duration": "400ms"}}, {"noop": {}}]
FAILING = [{"send": {"source": {"account": {"id": "empty"}}, "destination": {"account": {"id": "bank"}},
                     "amount": {"amount": "1", "asset": "EUR/2"}}}]  # fmt: skip


def expected(instance_id: str, workflow_id: str, stages: int) -> Counter[tuple[Any, ...]]:
    events: Counter[tuple[Any, ...]] = Counter({("STARTED_WORKFLOW", instance_id, None): 1})
    for n in range(stages):
        events[("STARTED_WORKFLOW_STAGE", instance_id, n)] += 1
        events[("SUCCEEDED_WORKFLOW_STAGE", instance_id, n)] += 1
    events[("SUCCEEDED_WORKFLOW", instance_id, None)] += 1
    return events


async def wait_all_terminated(client: httpx.AsyncClient, ids: list[str], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    pending = set(ids)
    while pending:
        for instance_id in list(pending):
            found = (await client.get(f"/api/orchestration/v2/instances/{instance_id}")).json()["data"]
            if found["terminated"]:
                pending.discard(instance_id)
        assert asyncio.get_running_loop().time() < deadline, f"{len(pending)} instances still running"
        await asyncio.sleep(0.1)


async def test_no_event_is_lost_across_a_sigkill(tmp_path: Path, nats_url: str) -> None:
    tag = uuid.uuid4().hex[:12]
    subject, incoming = f"orchestration-{tag}", f"incoming-{tag}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name=f"OUT_{tag}", subjects=[subject], duplicate_window=120.0)
    await js.add_stream(name=f"IN_{tag}", subjects=[incoming])
    seen: list[dict[str, Any]] = []
    ids: list[str] = []

    async def on_message(msg: Any) -> None:
        seen.append(json.loads(msg.data))
        ids.append(msg.headers.get("Nats-Msg-Id") if msg.headers else None)
        await msg.ack()

    subscription = await js.subscribe(subject, cb=on_message, durable=f"check_{tag}", manual_ack=True)
    flags = ("--nats-url", nats_url, "--events-subject", subject, "--nats-subject", incoming)
    try:
        with live_server(tmp_path, *flags) as first:
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
                body = {"name": "paid", "stages": STAGES}
                workflow = (await client.post("/api/orchestration/v2/workflows", json=body)).json()["data"]
                failing = {"name": "fails", "stages": FAILING, "retry": {"maxAttempts": 1}}
                doomed = (await client.post("/api/orchestration/v2/workflows", json=failing)).json()["data"]
                runs = []
                for i in range(RUNS):
                    run = await client.post(f"/api/orchestration/v2/workflows/{workflow['id']}/instances",
                                            json={"user": str(i)})  # fmt: skip
                    runs.append(run.json()["data"]["id"])
                failed = (await client.post(f"/api/orchestration/v2/workflows/{doomed['id']}/instances",
                                            json={})).json()["data"]["id"]  # fmt: skip
                for _ in range(200):  # kill once some events are out, but not all
                    if len(seen) >= RUNS:
                        break
                    await asyncio.sleep(0.02)
                first.process.kill()  # SIGKILL: no shutdown, nothing flushed
                first.process.wait()
            before_kill = len(seen)
        with live_server(tmp_path, *flags) as second:
            async with httpx.AsyncClient(base_url=second.url, timeout=10) as client:
                await wait_all_terminated(client, [*runs, failed])
                made = await client.post(
                    "/api/orchestration/v2/triggers",
                    json={
                        "event": "SAVED_PAYMENT",
                        "workflowID": workflow["id"],
                        "vars": {"user": "event.user + ''"},
                    },
                )
                trigger_id = made.json()["data"]["id"]
                payment = {"type": "SAVED_PAYMENT", "payload": {"id": "pay-1", "user": "t"}}
                await js.publish(incoming, json.dumps(payment).encode())
                await js.publish(
                    incoming, json.dumps({"type": "SAVED_PAYMENT", "payload": {"id": "p2"}}).encode()
                )
                listing = f"/api/orchestration/v2/triggers/{trigger_id}/occurrences"
                occurrences: list[dict[str, Any]] = []
                for _ in range(200):
                    occurrences = (await client.get(listing)).json()["cursor"]["data"]
                    if len(occurrences) == 2:
                        break
                    await asyncio.sleep(0.05)
                [started] = [o["workflowInstanceID"] for o in occurrences if o.get("workflowInstanceID")]
                [refused] = [o["id"] for o in occurrences if o.get("error")]
                [succeeded] = [o["id"] for o in occurrences if o.get("workflowInstanceID")]
                await wait_all_terminated(client, [started])
            want: Counter[tuple[Any, ...]] = Counter(
                {("SUCCEEDED_TRIGGER", succeeded, None): 1, ("FAILED_TRIGGER", refused, None): 1}
            )
            for instance_id in [*runs, started]:
                want += expected(instance_id, workflow["id"], len(STAGES))
            want += Counter(
                {
                    ("STARTED_WORKFLOW", failed, None): 1,
                    ("STARTED_WORKFLOW_STAGE", failed, 0): 1,
                    ("FAILED_WORKFLOW_STAGE", failed, 0): 1,
                    ("FAILED_WORKFLOW", failed, None): 1,
                }
            )
            total = sum(want.values())
            for _ in range(300):
                if len(seen) >= total:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # anything more would be a duplicate
            assert second.new_faults() == []
    finally:
        await subscription.unsubscribe()
        await nc.close()

    print(f"\nevents before the kill: {before_kill} of {total}")
    assert 0 < before_kill < total, "the kill came mid-run"
    got = Counter(
        (e["type"], e["payload"].get("instanceID", e["payload"]["id"]), e["payload"].get("number"))
        for e in seen
    )
    assert got == want, f"missing: {want - got}, extra: {got - want}"
    assert len(set(ids)) == len(ids) == total and None not in ids
    for event in seen:
        assert event["app"] == "orchestration" and event["version"] == "v2" and event["date"]
        if not event["type"].endswith("_TRIGGER"):
            assert event["payload"]["id"] in (workflow["id"], doomed["id"])
        else:
            assert event["payload"]["triggerID"] == trigger_id
    [failure] = [e for e in seen if e["type"] == "FAILED_WORKFLOW"]
    assert "insufficient funds" in failure["payload"]["error"]
