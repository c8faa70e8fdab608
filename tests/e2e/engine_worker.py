"""A child process for the kill -9 recovery test: runs the engine on the store at URI
(`sqlite:///path` or `mongodb://host:port/db`).

    python -m tests.e2e.engine_worker URI seed N     create workflows and N instances of each
    python -m tests.e2e.engine_worker URI resume     resume and keep working until killed
    python -m tests.e2e.engine_worker URI finish     resume, send missing events, wait, report

`finish` prints one JSON line with what the parent asserts on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter, defaultdict

from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine
from flowql.engine.store import Store
from flowql.stores import create_store

WORLD = {"account": {"id": "world"}}


def send(source: str, destination: str, amount: int) -> dict[str, object]:
    return {
        "send": {
            "source": {"account": {"id": source}},
            "destination": {"account": {"id": destination}},
            "amount": {"amount": amount, "asset": "USD/2"},
        }
    }


WORKFLOWS = {
    "delay": [{"delay": {"duration": "1500ms"}}, send("world", "users:${id}", 100)],
    "wait": [{"wait_event": {"event": "go"}}, send("world", "users:${id}", 10)],
    "early": [{"delay": {"duration": "800ms"}}, {"wait_event": {"event": "go"}}],
    "sends": [
        send("world", "users:${id}", 100),
        send("users:${id}", "merchants:1", 60),
        {"update": {"account": {"id": "users:${id}", "metadata": {"paid": "yes"}}}},
        send("users:${id}", "merchants:2", 40),
    ],
}


async def all_instances(store: Store) -> list[object]:
    return (await store.list_instances(PageRequest(1000))).items  # type: ignore[return-value]


async def main(uri: str, phase: str, count: int) -> None:
    store = create_store(uri)
    await store.open()
    engine = Engine(store)
    await engine.start()
    orchestration = engine.orchestration
    if phase == "seed":
        for name, stages in WORKFLOWS.items():
            workflow = await orchestration.create_workflow(name=name, stages=stages)
            for i in range(count):
                instance = await orchestration.run_workflow(workflow.id, {"id": f"{name}{i}"})
                if name == "early" or (name == "wait" and i % 2 == 0):
                    await orchestration.send_event(instance.id, "go")
        print("seeded", flush=True)
    if phase in {"seed", "resume"}:
        print("running", flush=True)
        await asyncio.Event().wait()  # until SIGKILL
    for instance in (await store.list_instances(PageRequest(1000), running=True)).items:
        workflow = await store.get_workflow(instance.workflow_id)
        names = {event.name for event in await store.list_inbox(instance.id)}
        if workflow and workflow.config.name in {"wait", "early"} and "go" not in names:
            await orchestration.send_event(instance.id, "go")
    async with asyncio.timeout(60):
        while (await store.list_instances(PageRequest(1), running=True)).items:
            await asyncio.sleep(0.1)
    instances = (await store.list_instances(PageRequest(1000))).items
    postings = await store.list_postings()
    derived: defaultdict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        derived[(posting.source, posting.asset)] -= posting.amount
        derived[(posting.destination, posting.asset)] += posting.amount
    mismatched = []
    for (address, asset), balance in derived.items():
        stored = (await store.get_account("default", address)).balances.get(asset, 0)
        if stored != balance:
            mismatched.append(address)
    report = {
        "instances": len(instances),
        "statuses": Counter(i.status.value for i in instances),
        "postings": len(postings),
        "references": len({p.reference for p in postings}),
        "asset_sums": {asset: sum(v for (_, a), v in derived.items() if a == asset) for asset in {"USD/2"}},
        "negative": [a for (a, _), v in derived.items() if v < 0 and a != "world"],
        "mismatched_balances": mismatched,
        "inbox_events": sum([len(await store.list_inbox(i.id)) for i in instances]),  # a few each
    }
    print(json.dumps(report), flush=True)
    await engine.stop()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
