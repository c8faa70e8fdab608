"""GraphQL API benchmark against a running `flowql serve` (started here on a temp SQLite file).

1. `instances(first: 100)` (with workflow and stages) p50/p99 at N stored instances
   (seeded straight into the store before the server starts).
2. `sendEvent` -> the transition seen by a graphql-transport-ws subscriber, p50/p99, with
   M instances waiting at once, each with its own subscription.
3. S concurrent subscribers (one WebSocket each) on one instance: delivery p99 of each
   transition, and the server's RSS growth per subscriber.

    python tests/bench/api_bench.py [--instances 100000] [--concurrent 200] [--subscribers 1000]

Goals (issue 5): p50 < 20 ms; p50 < 5 ms and p99 < 25 ms; p99 < 100 ms and < 50 KB.
Client and server share the machine: client-side time (JSON decoding, 1,000 sockets in one
Python loop) is inside every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

LIST = """query($first: Int) { instances(first: $first) { edges { node {
  id status createdAt workflow { id name } stages { index kind status } } }
  pageInfo { hasNextPage endCursor } } }"""
SEND = "mutation($id: ID!, $name: String!) { sendEvent(instanceID: $id, name: $name) { id } }"
WATCH = "subscription($id: ID!) { stageTransitions(instanceID: $id) { seq stage status } }"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 0.5) * 1000:.2f} ms  p99 {pct(values, 0.99) * 1000:.2f} ms  "
        f"mean {statistics.fmean(values) * 1000:.2f} ms  n={len(values)}"
    )


# --- server ----------------------------------------------------------------------------


async def seed(path: Path, count: int) -> None:
    """`count` finished instances of one workflow, inserted through the store."""
    from flowql.engine.clock import utc_now
    from flowql.engine.models import (
        Instance,
        InstanceStatus,
        StageState,
        StageStatus,
        Transition,
        Workflow,
        WorkflowConfig,
    )
    from flowql.engine.stages import StageKind
    from flowql.storage.sqlite import SqliteStore

    store = SqliteStore(str(path))
    await store.open()
    start = utc_now() - timedelta(days=1)
    stage = {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": "users:1"}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }
    workflow = Workflow(
        id="bench-workflow",
        config=WorkflowConfig(name="seeded", stages=[stage]),
        created_at=start,
        updated_at=start,
    )
    await store.insert_workflow(workflow)

    def instance(i: int) -> tuple[Instance, list[Transition]]:
        at = start + timedelta(milliseconds=i)
        inst = Instance(
            id=f"seed-{i:07d}",
            workflow_id=workflow.id,
            created_at=at,
            updated_at=at,
            status=InstanceStatus.SUCCEEDED,
            terminated_at=at,
            transition_count=2,
            stages=[
                StageState(
                    stage=0,
                    kind=StageKind.SEND,
                    status=StageStatus.SUCCEEDED,
                    started_at=at,
                    terminated_at=at,
                )
            ],
        )
        transitions = [
            Transition(
                instance_id=inst.id,
                workflow_id=workflow.id,
                seq=n + 1,
                stage=0,
                kind=StageKind.SEND,
                status=s,
                instance_status=i_s,
                at=at,
            )
            for n, (s, i_s) in enumerate(
                [
                    (StageStatus.RUNNING, InstanceStatus.RUNNING),
                    (StageStatus.SUCCEEDED, InstanceStatus.SUCCEEDED),
                ]
            )
        ]
        return inst, transitions

    try:
        for first in range(0, count, 2000):
            chunk = range(first, min(count, first + 2000))
            await asyncio.gather(*(store.insert_instance(*instance(i)) for i in chunk))
    finally:
        await store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def server(db: Path) -> AsyncIterator[tuple[str, psutil.Process]]:
    port = free_port()
    exe = Path(sys.executable).with_name("flowql")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWQL_")}
    env["FLOWQL_LOG_LEVEL"] = "WARNING"
    proc = await asyncio.create_subprocess_exec(
        str(exe), "serve", "--port", str(port), "--store", f"sqlite:///{db}", env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


# --- clients ---------------------------------------------------------------------------


class Gql:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, f"{url}/graphql"

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        async with self.session.post(self.url, json={"query": query, "variables": variables}) as resp:
            body = await resp.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]


class Socket:
    """A minimal graphql-transport-ws client: many subscriptions, one reader task."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.handlers: dict[str, Any] = {}
        self.ids = itertools.count()
        self.reader: asyncio.Task[None] | None = None
        self.sends: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str) -> Socket:
        ws = await session.ws_connect(
            f"{url.replace('http', 'ws')}/graphql", protocols=["graphql-transport-ws"]
        )
        await ws.send_json({"type": "connection_init", "payload": {}})
        ack = await ws.receive_json()
        assert ack["type"] == "connection_ack", ack
        self = cls(ws)
        self.reader = asyncio.create_task(self._read())
        return self

    def subscribe(self, query: str, variables: dict[str, Any], on_next: Any) -> asyncio.Future[None]:
        op = str(next(self.ids))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.handlers[op] = (on_next, done)
        message = {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        self.sends.add(task := asyncio.ensure_future(self.ws.send_json(message)))
        task.add_done_callback(self.sends.discard)
        return done

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            received = time.perf_counter()
            data = json.loads(message.data)
            kind = data["type"]
            if kind == "ping":
                await self.ws.send_json({"type": "pong"})
            elif kind == "next":
                self.handlers[data["id"]][0](data["payload"], received)
            elif kind in ("complete", "error"):
                _, done = self.handlers.pop(data["id"])
                if not done.done():
                    done.set_result(None)

    async def close(self) -> None:
        await self.ws.close()
        if self.reader:
            await self.reader


async def bench_list(url: str, rounds: int) -> list[float]:
    async with aiohttp.ClientSession() as session:
        gql = Gql(session, url)
        for _ in range(10):  # warm up
            await gql(LIST, first=100)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            data = await gql(LIST, first=100)
            times.append(time.perf_counter() - started)
            assert len(data["instances"]["edges"]) == 100
        return times


async def start_waiting(gql: Gql, count: int, stages: int) -> list[str]:
    created = await gql(
        "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }",
        w={"name": "bench", "stages": [{"wait_event": {"event": f"e{i}"}} for i in range(stages)]},
    )
    workflow = created["createWorkflow"]["id"]
    run = "mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }"
    results = await asyncio.gather(*(gql(run, id=workflow) for _ in range(count)))
    return [r["runWorkflow"]["id"] for r in results]


async def bench_send_to_seen(url: str, concurrent: int, *, burst: bool) -> list[float]:
    """`concurrent` instances wait on `e0`, each watched by its own subscription; the time
    from sending `e0` (HTTP) until the subscriber gets the stage's SUCCEEDED transition.
    Events go one at a time in random order, or (`burst`) all at once."""
    async with aiohttp.ClientSession() as session:
        gql = Gql(session, url)
        instances = await start_waiting(gql, concurrent, 2)
        sockets = [await Socket.open(session, url) for _ in range((concurrent + 49) // 50)]
        loop = asyncio.get_running_loop()
        seen: dict[str, asyncio.Future[float]] = {i: loop.create_future() for i in instances}
        waiting: dict[str, asyncio.Future[None]] = {i: loop.create_future() for i in instances}
        for n, instance in enumerate(instances):

            def on_next(payload: dict[str, Any], at: float, instance: str = instance) -> None:
                t = payload["data"]["stageTransitions"]
                if (t["stage"], t["status"]) == (0, "WAITING") and not waiting[instance].done():
                    waiting[instance].set_result(None)
                if (t["stage"], t["status"]) == (0, "SUCCEEDED") and not seen[instance].done():
                    seen[instance].set_result(at)

            sockets[n % len(sockets)].subscribe(WATCH, {"id": instance}, on_next)
        await asyncio.gather(*waiting.values())

        async def one(instance: str) -> float:
            started = time.perf_counter()
            await gql(SEND, id=instance, name="e0")
            return await seen[instance] - started

        random.shuffle(instances)
        if burst:
            latencies = list(await asyncio.gather(*(one(i) for i in instances)))
        else:
            latencies = [await one(i) for i in instances]
        await asyncio.gather(*(gql(SEND, id=i, name="e1") for i in instances))  # let them finish
        for s in sockets:
            await s.close()
        return latencies


async def bench_fan_out(
    url: str, process: psutil.Process, subscribers: int, events: int
) -> tuple[list[float], float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        gql = Gql(session, url)
        (instance,) = await start_waiting(gql, 1, events + 1)
        await asyncio.sleep(0.5)
        rss_before = process.memory_info().rss
        marks: dict[int, float] = {}
        deliveries: list[float] = []
        replayed = [asyncio.get_running_loop().create_future() for _ in range(subscribers)]

        def make(n: int) -> Any:
            def on_next(payload: dict[str, Any], at: float) -> None:
                t = payload["data"]["stageTransitions"]
                if t["status"] == "WAITING" and t["stage"] == 0 and not replayed[n].done():
                    replayed[n].set_result(None)
                if t["status"] == "SUCCEEDED" and t["stage"] in marks:
                    deliveries.append(at - marks[t["stage"]])

            return on_next

        sockets = []
        for n in range(subscribers):
            s = await Socket.open(session, url)
            s.subscribe(WATCH, {"id": instance}, make(n))
            sockets.append(s)
        await asyncio.gather(*replayed)
        await asyncio.sleep(1.0)
        per_subscriber = (process.memory_info().rss - rss_before) / subscribers
        for stage in range(events):
            marks[stage] = time.perf_counter()
            await gql(SEND, id=instance, name=f"e{stage}")
            await asyncio.sleep(0.3)
        for s in sockets:
            await s.close()
        return deliveries, per_subscriber


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.perf_counter()
        await seed(db, args.instances)
        print(f"seeded {args.instances} instances in {time.perf_counter() - started:.1f} s")
        async with server(db) as (url, process):
            times = await bench_list(url, args.rounds)
            print(f"instances(first: 100) at {args.instances} stored: {summary(times)}")
            for burst in (False, True):
                latencies = await bench_send_to_seen(url, args.concurrent, burst=burst)
                how = "all sent at once" if burst else "one event at a time"
                print(
                    f"sendEvent -> seen by its subscriber, {args.concurrent} live instances, {how}: "
                    f"{summary(latencies)}"
                )
        fresh = Path(tmp) / "fanout.db"  # a fresh server: its RSS growth is the subscribers'
        async with server(fresh) as (url, process):
            deliveries, per_subscriber = await bench_fan_out(url, process, args.subscribers, args.events)
            print(
                f"{args.subscribers} subscribers, {args.events} transitions: delivery {summary(deliveries)}; "
                f"server RSS +{per_subscriber / 1024:.1f} KB per subscriber"
            )


if __name__ == "__main__":
    asyncio.run(main())
