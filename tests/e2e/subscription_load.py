"""Subscriptions under load against a running `flowql serve`.

`plan.subscribers` WebSocket clients (graphql-transport-ws, one connection each, as browsers
open them) subscribe to `stageTransitions(instanceID)` of `plan.instances` instances of a
workflow of `plan.stages` wait_event stages, spread evenly. Events then drive every instance
to its end, round by round. A fraction of the clients vanish without a word (the TCP
connection is aborted: no `complete`, no close frame), half before the first event and half
mid-stream. At the end:

- every remaining subscriber got exactly the stored transitions of its instance, in order,
  none missing, none doubled, and its stream completed;
- `/metrics` says no subscription, WebSocket or asyncio task outlived its client: the
  open-subscription gauge drops by the aborted count right after they vanish, and every
  gauge returns to its idle value at the end.

Delivery latency is the client's receive time minus the transition's `at` (its commit time,
in milliseconds: up to 1 ms too high); event latency runs from the `sendEvent` request to the
stage's SUCCEEDED transition at each subscriber. Shared by the CI test and the bench.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.live_server import LiveServer

SUBSCRIBE = """subscription($id: ID!) { stageTransitions(instanceID: $id) {
  seq stage status instanceStatus at } }"""
HISTORY = """query($w: ID, $first: Int) { instances(workflowID: $w, first: $first) {
  edges { node { id status history { seq stage status instanceStatus } } } } }"""
GAUGES = ("flowql_subscriptions_open", "flowql_websocket_connections_open", "flowql_asyncio_tasks")
Step = tuple[int, int, str, str]


@dataclass(frozen=True, slots=True)
class LoadPlan:
    subscribers: int
    instances: int
    stages: int = 3
    abort_fraction: float = 0.1
    seed: int = 7
    concurrency: int = 64
    """HTTP requests and connection handshakes in flight at once."""
    event_rate: float | None = None
    """sendEvent requests per second, evenly spaced; None: each round as fast as possible."""


@dataclass(eq=False)
class Subscriber:
    instance_id: str
    ws: ClientConnection | None = None
    steps: list[Step] = field(default_factory=list)
    received: list[tuple[float, str, int, str]] = field(default_factory=list)
    """(receive time, commit time `at`, stage, status) per transition."""
    completed: bool = False
    aborted: bool = False
    error: str | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class LoadReport:
    plan: LoadPlan
    failures: list[str] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    event_ms: list[float] = field(default_factory=list)
    gauges: dict[str, dict[str, float]] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    transitions: int = 0

    @property
    def bytes_per_subscriber(self) -> float:
        return (self.rss["subscribed"] - self.rss["idle"]) / self.plan.subscribers


class Load:
    def __init__(self, server: LiveServer, plan: LoadPlan, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.plan = plan
        self.http = http
        self.gate = asyncio.Semaphore(plan.concurrency)
        self.report = LoadReport(plan)
        self.sent_at: dict[tuple[str, int], float] = {}
        self.drive_started = float("inf")

    async def graphql(self, query: str, **variables: object) -> Any:
        async with (
            self.gate,
            self.http.post(
                f"{self.server.url}/graphql", json={"query": query, "variables": variables}
            ) as resp,
        ):
            body = await resp.json()
        assert resp.status == 200 and not body.get("errors"), body
        return body["data"]

    async def gauges(self) -> dict[str, float]:
        async with self.http.get(f"{self.server.url}/metrics") as resp:
            text = await resp.text()
        return {
            name: float(value)
            for name, _, value in (line.partition(" ") for line in text.splitlines())
            if name in GAUGES
        }

    async def wait_gauges(self, phase: str, check: Any, timeout: float = 10.0) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            now = await self.gauges()
            if check(now):
                break
            if time.monotonic() > deadline:
                self.report.failures.append(f"{phase}: gauges never settled: {now}")
                break
            await asyncio.sleep(0.05)
        self.report.gauges[phase] = now
        self.report.rss[phase] = self.server.rss()
        return now

    # --- subscribers --------------------------------------------------------------------
    async def subscribe(self, subscriber: Subscriber) -> None:
        async with self.gate:
            ws = await connect(self.server.ws_url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": SUBSCRIBE, "variables": {"id": subscriber.instance_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        subscriber.ws = ws
        subscriber.task = asyncio.create_task(self.read(subscriber, ws))

    async def read(self, subscriber: Subscriber, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                now = time.time()
                message = json.loads(text)
                kind = message.get("type")
                if kind == "next" and not message["payload"].get("errors"):
                    t = message["payload"]["data"]["stageTransitions"]
                    subscriber.steps.append((t["seq"], t["stage"], t["status"], t["instanceStatus"]))
                    subscriber.received.append((now, t["at"], t["stage"], t["status"]))
                elif kind == "complete":
                    subscriber.completed = True
                    await ws.close()
                    return
                elif kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind != "pong":
                    subscriber.error = str(message)[:500]
                    return
        except ConnectionClosed as closed:
            if not subscriber.aborted:
                subscriber.error = f"connection closed: {closed}"

    def abort(self, subscribers: list[Subscriber]) -> None:
        for subscriber in subscribers:
            subscriber.aborted = True
            assert subscriber.ws is not None
            subscriber.ws.transport.abort()  # the TCP connection just goes

    # --- the run --------------------------------------------------------------------------
    async def run(self) -> LoadReport:
        plan, report = self.plan, self.report
        started = time.monotonic()
        stages = [{"wait_event": {"event": f"e{i}"}} for i in range(plan.stages)]
        created = await self.graphql(
            "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }",
            w={"name": "subscription-load", "stages": stages},
        )
        workflow = created["createWorkflow"]["id"]
        run = "mutation($id: ID!) { runWorkflow(workflowID: $id) { id } }"
        runs = await asyncio.gather(*(self.graphql(run, id=workflow) for _ in range(plan.instances)))
        instances = [r["runWorkflow"]["id"] for r in runs]
        idle = await self.wait_gauges("idle", lambda g: g["flowql_subscriptions_open"] == 0)

        subscribers = [Subscriber(instances[i % plan.instances]) for i in range(plan.subscribers)]
        t0 = time.monotonic()
        await asyncio.gather(*(self.subscribe(s) for s in subscribers))
        await self.wait_gauges("subscribed", lambda g: g["flowql_subscriptions_open"] == plan.subscribers)
        report.seconds["subscribe"] = time.monotonic() - t0

        rng = random.Random(plan.seed)
        doomed = rng.sample(subscribers, round(plan.subscribers * plan.abort_fraction))
        early, late = doomed[: len(doomed) // 2], doomed[len(doomed) // 2 :]
        self.abort(early)
        left = plan.subscribers - len(early)
        await self.wait_gauges("aborted before events", lambda g: g["flowql_subscriptions_open"] == left)

        t0, self.drive_started = time.monotonic(), time.time()
        cpu = (self.server_cpu(), time.process_time())
        for stage in range(plan.stages):
            await self.send_round(instances, stage)
            if stage == min(1, plan.stages - 1):
                self.abort(late)  # mid-stream
        survivors = [s for s in subscribers if not s.aborted]
        tasks = [s.task for s in survivors if s.task is not None]
        _, pending = await asyncio.wait(tasks, timeout=60)
        report.seconds["drive"] = time.monotonic() - t0
        report.seconds["server cpu while driving"] = self.server_cpu() - cpu[0]
        report.seconds["client cpu while driving"] = time.process_time() - cpu[1]
        if pending:
            report.failures.append(f"{len(pending)} subscribers never completed")
        await self.wait_gauges(
            "after",
            lambda g: (
                g["flowql_subscriptions_open"] == 0
                and g["flowql_websocket_connections_open"] == 0
                and g["flowql_asyncio_tasks"] <= idle["flowql_asyncio_tasks"]
            ),
        )
        await self.verify(workflow, subscribers)
        report.seconds["total"] = time.monotonic() - started
        return report

    def server_cpu(self) -> float:
        times = psutil.Process(self.server.process.pid).cpu_times()
        return float(times.user + times.system)

    async def send_round(self, instances: list[str], stage: int) -> None:
        if self.plan.event_rate is None:
            await asyncio.gather(*(self.send(i, stage) for i in instances))
            return
        loop, sends = asyncio.get_running_loop(), []
        start = loop.time()
        for n, instance in enumerate(instances):
            await asyncio.sleep(max(0.0, start + n / self.plan.event_rate - loop.time()))
            sends.append(asyncio.create_task(self.send(instance, stage)))
        await asyncio.gather(*sends)

    async def send(self, instance_id: str, stage: int) -> None:
        self.sent_at[(instance_id, stage)] = time.time()
        mutation = "mutation($id: ID!, $n: String!) { sendEvent(instanceID: $id, name: $n) { id } }"
        await self.graphql(mutation, id=instance_id, n=f"e{stage}")

    async def verify(self, workflow: str, subscribers: list[Subscriber]) -> None:
        data = await self.graphql(HISTORY, w=workflow, first=self.plan.instances)
        stored: dict[str, list[Step]] = {}
        for edge in data["instances"]["edges"]:
            node = edge["node"]
            stored[node["id"]] = [
                (t["seq"], t["stage"], t["status"], t["instanceStatus"]) for t in node["history"]
            ]
            if node["status"] != "SUCCEEDED":
                self.report.failures.append(f"instance {node['id']} ended {node['status']}")
        failures = self.report.failures
        for subscriber in subscribers:
            expected = stored[subscriber.instance_id]
            if subscriber.aborted:
                if subscriber.steps != expected[: len(subscriber.steps)]:
                    failures.append(f"aborted subscriber saw {subscriber.steps}, stored {expected}")
                continue
            if subscriber.error or not subscriber.completed:
                state = f"error={subscriber.error} completed={subscriber.completed}"
                failures.append(f"subscriber of {subscriber.instance_id}: {state}")
            elif subscriber.steps != expected:
                failures.append(
                    f"subscriber of {subscriber.instance_id} saw {subscriber.steps}, stored {expected}"
                )
            self.measure(subscriber)

    def measure(self, subscriber: Subscriber) -> None:
        for received, at, stage, status in subscriber.received:
            self.report.transitions += 1
            committed = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
            if committed + 0.001 < self.drive_started:
                continue  # replayed from the store on subscription, not a live delivery
            self.report.delivery_ms.append((received - committed) * 1000)
            sent = self.sent_at.get((subscriber.instance_id, stage))
            if status == "SUCCEEDED" and sent is not None:
                self.report.event_ms.append((received - sent) * 1000)


async def run_load(server: LiveServer, plan: LoadPlan) -> LoadReport:
    # No keep-alive: idle HTTP connections would hold server tasks and blur the task gauge.
    connector = aiohttp.TCPConnector(limit=plan.concurrency, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        return await Load(server, plan, http).run()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


__all__ = ["LoadPlan", "LoadReport", "percentile", "run_load"]
