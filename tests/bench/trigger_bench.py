"""Trigger dispatch: 100 triggers on 10 event types, filters rejecting most events.

Each trigger `j` of a type fires on `event.kind == 'k{j}' && event.amount >= 995`, so an
event is evaluated by the 10 triggers of its type and starts a workflow about once in 200
events. Phases, on a SQLite store in a temporary file:

* publish:  N events through `TriggerService.publish`, one after the other;
* nats backlog: N events published to JetStream first, then drained by the consumer;
* nats paced: N events published at `--rate`/s while the consumer runs: end-to-end latency
  from publish to occurrences stored;
* sandboxed: events whose one matching trigger uses a comprehension (worker-process tier).

Prints events/s, filter evaluations/s and p50/p99 dispatch latency for each.

    python tests/bench/trigger_bench.py [--events 10000] [--rate 2000] [--skip-nats] [--nats-url URL]

NATS: `--nats-url` (or FLOWQL_TEST_NATS_URL), else a nats-server started for the run on a
free port (tests/support/services.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` when run as a script

from flowql.engine.models import EventMessage, TriggerOccurrence
from flowql.engine.runtime import Engine, EngineConfig
from flowql.engine.triggers import TriggerService
from flowql.storage.sqlite import SqliteStore

TYPES = 10
PER_TYPE = 10
STAGES = [{"update": {"account": {"id": "users:${user}", "metadata": {"kind": "${kind}"}}}}]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def payload(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "user": f"u{n}",
        "kind": f"k{rng.randrange(PER_TYPE)}",
        "amount": rng.randrange(1000),
        "currency": "USD/2",
        "metadata": {"source": "bench", "batch": n // 100},
    }


class Timed(TriggerService):
    """Records when each event finished dispatching (its occurrences stored)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.store, engine.orchestration)
        self.done: list[tuple[float, float]] = []  # (sent_at from the payload, finished)
        self.occurrences = 0

    async def publish(self, event: EventMessage) -> list[TriggerOccurrence]:
        occurrences = await super().publish(event)
        self.occurrences += len(occurrences)
        self.done.append((float(event.payload.get("sent_at", 0.0)), time.time()))
        return occurrences


async def setup(path: Path) -> tuple[Engine, SqliteStore]:
    store = SqliteStore(str(path))
    await store.open()
    engine = Engine(store, EngineConfig())
    await engine.start()
    workflow = await engine.orchestration.create_workflow(name="bench", stages=STAGES)
    for t in range(TYPES):
        for j in range(PER_TYPE):
            await engine.triggers.create_trigger(
                name=f"t{t}-{j}",
                event=f"TYPE_{t}",
                workflow_id=workflow.id,
                filter=f"event.kind == 'k{j}' && event.amount >= 995",
                vars={"user": "event.user", "kind": "event.kind"},
            )
    return engine, store


def report(name: str, events: int, seconds: float, latencies: list[float], occurrences: int) -> None:
    print(
        f"{name:<14} {events:>6} events in {seconds:6.2f}s: {events / seconds:8.0f} events/s, "
        f"{events * PER_TYPE / seconds:9.0f} filter evaluations/s, "
        f"latency p50 {statistics.median(latencies) * 1000:6.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:6.2f} ms, {occurrences} occurrences"
    )


async def bench_publish(engine: Engine, n: int) -> None:
    rng = random.Random(1)
    events = [EventMessage(type=f"TYPE_{i % TYPES}", payload=payload(rng, i), id=f"p{i}") for i in range(n)]
    await engine.triggers.publish(events[0])  # warm the per-type caches
    latencies: list[float] = []
    occurrences = 0
    started = time.perf_counter()
    for event in events:
        before = time.perf_counter()
        occurrences += len(await engine.triggers.publish(event))
        latencies.append(time.perf_counter() - before)
    report("publish", n, time.perf_counter() - started, latencies, occurrences)


async def bench_nats(engine: Engine, n: int, rate: float, url: str) -> None:
    import nats

    from flowql.nats_consumer import NatsEventConsumer

    run = uuid.uuid4().hex[:10]
    subject, stream = f"flowql.bench.{run}", f"FLOWQL_BENCH_{run}"
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    rng = random.Random(2)
    triggers = Timed(engine)
    try:
        # backlog: everything published, then drained
        bodies = [
            json.dumps({"type": f"TYPE_{i % TYPES}", "payload": payload(rng, i)}).encode() for i in range(n)
        ]
        for chunk in range(0, n, 500):
            await asyncio.gather(*(js.publish(subject, body) for body in bodies[chunk : chunk + 500]))
        consumer = NatsEventConsumer(url, subject, triggers, stream=stream, batch=256)
        started = time.perf_counter()
        await consumer.start()
        while len(triggers.done) < n:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        per_event = [elapsed / n] * n  # backlog latency is queueing time: report the mean only
        report("nats backlog", n, elapsed, per_event, triggers.occurrences)

        # paced: publish at `rate`/s while the consumer runs
        triggers.done.clear()
        triggers.occurrences = 0
        started = time.perf_counter()
        for i in range(n):
            target = started + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"type": f"TYPE_{i % TYPES}", "payload": {**payload(rng, n + i), "sent_at": time.time()}}
            await nc.publish(subject, json.dumps(body).encode())  # core publish: stored by the stream
        while len(triggers.done) < n:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        latencies = [finished - sent for sent, finished in triggers.done]
        report(f"nats @{rate:g}/s", n, elapsed, latencies, triggers.occurrences)
        await consumer.stop()
    finally:
        await triggers.close()
        await js.delete_stream(stream)
        await nc.close()


async def bench_sandboxed(engine: Engine, n: int) -> None:
    workflow = (await engine.orchestration.list_workflows(_first_page())).items[0]
    await engine.triggers.create_trigger(
        name="loop",
        event="POSTINGS",
        workflow_id=workflow.id,
        filter="event.postings.exists(p, p.amount > 990)",
        vars={"user": "event.user", "kind": "'loop'"},
    )
    rng = random.Random(3)
    events = [
        EventMessage(
            type="POSTINGS",
            payload={"user": f"s{i}", "postings": [{"amount": rng.randrange(1000)} for _ in range(5)]},
        )
        for i in range(n)
    ]
    await engine.triggers.publish(events[0])  # spawn the worker
    latencies: list[float] = []
    occurrences = 0
    started = time.perf_counter()
    for event in events:
        before = time.perf_counter()
        occurrences += len(await engine.triggers.publish(event))
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    print(
        f"{'sandboxed':<14} {n:>6} events in {elapsed:6.2f}s: {n / elapsed:8.0f} events/s "
        f"(1 comprehension filter each), latency p50 {statistics.median(latencies) * 1000:6.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:6.2f} ms, {occurrences} occurrences"
    )


def _first_page() -> Any:
    from flowql.engine.pagination import PageRequest

    return PageRequest(page_size=1)


@contextlib.contextmanager
def nats_server(url: str | None, workdir: Path) -> Iterator[str]:
    """The given URL, FLOWQL_TEST_NATS_URL, or a nats-server started for this run."""
    from tests.support.services import nats_server as start_nats

    if url or os.environ.get("FLOWQL_TEST_NATS_URL"):
        yield url or os.environ["FLOWQL_TEST_NATS_URL"]
        return
    with start_nats(workdir / "nats") as service:
        yield service.url


async def main(events: int, rate: float, skip_nats: bool, nats_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = None if skip_nats else stack.enter_context(nats_server(nats_url, Path(tmp)))
        engine, store = await setup(Path(tmp) / "bench.db")
        try:
            print(f"{TYPES * PER_TYPE} triggers on {TYPES} event types, {events} events per phase")
            await bench_publish(engine, events)
            if url is not None:
                await bench_nats(engine, events, rate, url)
            await bench_sandboxed(engine, max(1, events // 5))
        finally:
            await engine.triggers.close()
            await engine.stop()
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2_000.0, help="publish rate of the paced NATS phase")
    parser.add_argument("--skip-nats", action="store_true")
    parser.add_argument("--nats-url", help="a running NATS JetStream (default: start a nats-server)")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rate, args.skip_nats, args.nats_url))
