"""Subscription fan-out, flowql next to a bare Strawberry + aiohttp server, in one run.

Both servers start fresh side by side (flowql: `flowql serve` on a temp SQLite file; bare:
`tests/bench/bare_ticker.py`, Strawberry's own view and a ticker) and are measured one after
the other with the same client: `--subscribers` WebSocket connections (one subscription
each, `--protocol`), all on one stream, fed `--rate` deliveries per second per subscriber
for `--seconds`:

- flowql: `stageTransitions(workflowID)` of one workflow with one `send` stage; the driver
  calls `runWorkflow` `rate / 2` times a second (each run is two transitions);
- bare: `ticks`; the driver calls `tick(count: 2)` `rate / 2` times a second.

Printed per server: delivery latency p50/p99 (client receive time minus the event's `at`:
flowql's commit time, the ticker's publish time; both in milliseconds, so up to 1 ms
high), deliveries/s, server RSS growth per subscriber (KB), server CPU while driving, and
whether every subscriber got every event once and in order; then the ratios flowql/bare.
For flowql also `runWorkflow(wait: true)` throughput of another workflow (a separate client
process, `--runs-concurrency` in flight) alone (before any subscriber), then in
`--runs-rounds` rounds of two back-to-back phases with the subscribers connected: idle, and
while they are being fed; the fed/idle ratio is the median over the rounds (the machine's
load drifts between phases that are far apart).

    python tests/bench/fanout.py [--subscribers 1000] [--rate 10] [--seconds 10]
        [--protocol graphql-transport-ws|graphql-ws] [--repeat 1] [--only flowql|bare]
        [--clients 2] [--runs-seconds 5] [--runs-rounds 3] [--json]

The subscribers live in `--clients` worker processes (tests/bench/fanout_client.py), the
same client for both servers; client and servers share the machine, so client time is
inside every figure. Repeat runs alternate which server goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

from tests.bench.fanout_client import LEGACY_WS, TRANSPORT_WS, Checked, Clients, Key
from tests.e2e.live_server import free_port, live_server

FIELDS = "instanceID seq stage status instanceStatus at"
WATCH = f"subscription($w: ID!) {{ stageTransitions(workflowID: $w) {{ {FIELDS} }} }}"
TICKS = f"subscription {{ ticks {{ {FIELDS} }} }}"
RUN = "mutation($w: ID!, $wait: Boolean) { runWorkflow(workflowID: $w, wait: $wait) { id status } }"
CREATE = "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id } }"
SEND_STAGE = {
    "send": {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:1"}},
        "amount": {"amount": 100, "asset": "USD/2"},
    }
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Target:
    """One server under test: how to subscribe to its stream and how to feed it."""

    name: str
    url: str
    pid: int
    document: str
    field: str
    variables: dict[str, object] = field(default_factory=dict)
    publish: Callable[[aiohttp.ClientSession], Awaitable[list[Key]]] | None = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def cpu(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


async def graphql(http: aiohttp.ClientSession, url: str, query: str, **variables: object) -> Any:
    async with http.post(f"{url}/graphql", json={"query": query, "variables": variables}) as resp:
        body = await resp.json()
    if resp.status != 200 or body.get("errors"):
        raise RuntimeError(f"{query[:40]}...: {resp.status} {body}")
    return body["data"]


@dataclass
class Figures:
    server: str
    subscribers: int
    rate: float
    deliveries: int = 0
    expected: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    deliveries_per_s: float = 0.0
    kb_per_subscriber: float = 0.0
    server_cpu_s: float = 0.0
    drive_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0
    runs_per_s_alone: float | None = None
    runs_per_s_fed: float | None = None
    runs_rounds: list[tuple[float, float]] = field(default_factory=list)
    """(idle, fed) runs/s per round: subscribers connected, then the same being fed."""
    server_cpu_per_run_ms: tuple[float, float] | None = None
    """Server CPU per run, alone and while feeding (includes the fan-out in the second)."""


async def drive(
    http: aiohttp.ClientSession, target: Target, rate: float, seconds: float
) -> tuple[list[Key], float]:
    """Publish `rate / 2` times a second (two events each) for `seconds`; the events' keys
    and the wall-clock start."""
    assert target.publish is not None
    loop, tasks = asyncio.get_running_loop(), []
    calls = max(1, round(rate / 2 * seconds))
    started, t0 = time.time(), loop.time()
    for n in range(calls):
        await asyncio.sleep(max(0.0, t0 + n / (rate / 2) - loop.time()))
        tasks.append(asyncio.create_task(target.publish(http)))
    keys = [key for result in await asyncio.gather(*tasks) for key in result]
    return keys, started


def summarise(figures: Figures, checked: Checked, subscribers: int, keys: list[Key], started: float) -> None:
    figures.expected = len(keys) * subscribers
    figures.problems += checked.problems
    if checked.bad:
        figures.problems.append(
            f"{checked.bad} of {subscribers} subscribers did not get every event once in order"
        )
    last = max(checked.last, started)
    figures.deliveries = len(checked.latencies_ms)
    figures.p50_ms = round(percentile(checked.latencies_ms, 0.5), 1)
    figures.p99_ms = round(percentile(checked.latencies_ms, 0.99), 1)
    figures.drive_s = round(last - started, 2)
    figures.deliveries_per_s = round(len(checked.latencies_ms) / max(last - started, 1e-9))


async def measure(
    target: Target, args: argparse.Namespace, runs: Callable[[], Awaitable[tuple[float, int]]] | None
) -> Figures:
    figures = Figures(target.name, args.subscribers, args.rate)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        if runs is not None:
            cpu0 = target.cpu()
            rate, late = await runs()
            alone_cpu = (target.cpu() - cpu0) / max(rate * args.runs_seconds, 1)
            figures.runs_per_s_alone = round(rate, 1)
            if late:
                figures.problems.append(f"{late} runs alone timed out waiting")
        rss0 = target.rss()
        clients = Clients(args.clients, target.ws_url, args.protocol, target.document, target.variables)
        try:
            await clients.subscribe(args.subscribers)
            # Warm-up: one publish every subscriber must see (the subscriptions are live now).
            await clients.mark()
            await asyncio.sleep(0.5)
            assert target.publish is not None
            await target.publish(http)
            if not await clients.wait(2, 60):
                figures.problems.append("warm-up: not every subscriber got the first events")
            await asyncio.sleep(0.5)
            figures.kb_per_subscriber = round((target.rss() - rss0) / args.subscribers / 1024, 1)

            cpu0, client0 = target.cpu(), await clients.mark()
            keys, started = await drive(http, target, args.rate, args.seconds)
            await clients.wait(len(keys), 60)
            figures.server_cpu_s = round(target.cpu() - cpu0, 2)
            figures.client_cpu_s = round(await clients.cpu() - client0, 2)
            checked = await clients.check(keys, target.field)
            summarise(figures, checked, args.subscribers, keys, started)
            if runs is not None:
                # Rounds of idle then fed, back to back: the machine's load drifts (other
                # processes share it), a round's two phases see about the same.
                fed_cpu = 0.0
                for _ in range(args.runs_rounds):
                    idle, late = await runs()
                    feeding = asyncio.create_task(drive(http, target, args.rate, args.runs_seconds + 1))
                    cpu0 = target.cpu()
                    rate, late_fed = await runs()
                    fed_cpu += (target.cpu() - cpu0) / max(rate * args.runs_seconds, 1) / args.runs_rounds
                    figures.runs_rounds.append((round(idle, 1), round(rate, 1)))
                    if late or late_fed:
                        figures.problems.append(f"{late + late_fed} runs timed out waiting")
                    await feeding
                    await clients.wait(0, 10)
                figures.server_cpu_per_run_ms = (round(alone_cpu * 1000, 2), round(fed_cpu * 1000, 2))
                figures.runs_per_s_fed = round(median(fed for _, fed in figures.runs_rounds), 1)
        finally:
            await clients.close()
    return figures


# --- runWorkflow throughput, in a client process of its own --------------------------------
def throughput(url: str, workflow: str, seconds: float, concurrency: int) -> tuple[float, int]:
    """Runs that came back SUCCEEDED per second, and how many came back still RUNNING
    (their wait timed out)."""

    async def go() -> tuple[float, int]:
        done = late = 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
            deadline = time.monotonic() + seconds

            async def worker() -> None:
                nonlocal done, late
                while time.monotonic() < deadline:
                    data = await graphql(http, url, RUN, w=workflow, wait=True)
                    if data["runWorkflow"]["status"] == "SUCCEEDED":
                        done += 1
                    else:
                        late += 1

            t0 = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return done / (time.monotonic() - t0), late

    return asyncio.run(go())


# --- servers ------------------------------------------------------------------------------
@contextmanager
def bare_server(workdir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    script = Path(__file__).with_name("bare_ticker.py")
    with (workdir / "bare.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, str(script), "--port", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/graphql?query=%7Bsubscribers%7D", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((workdir / "bare.log").read_text()[-2000:]) from None
                time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # aiohttp's graceful stop of 10,000 sockets
            process.kill()
            process.wait()


async def flowql_target(url: str, pid: int) -> tuple[Target, str]:
    async with aiohttp.ClientSession() as http:
        watched = await graphql(http, url, CREATE, w={"name": "fanout", "stages": [SEND_STAGE]})
        other = await graphql(http, url, CREATE, w={"name": "throughput", "stages": [SEND_STAGE]})
    workflow = watched["createWorkflow"]["id"]

    async def publish(http: aiohttp.ClientSession) -> list[Key]:
        data = await graphql(http, url, RUN, w=workflow, wait=False)
        instance = data["runWorkflow"]["id"]
        return [(instance, 1), (instance, 2)]

    target = Target("flowql", url, pid, WATCH, "stageTransitions", {"w": workflow}, publish)
    return target, other["createWorkflow"]["id"]


def bare_target(url: str, pid: int) -> Target:
    async def publish(http: aiohttp.ClientSession) -> list[Key]:
        data = await graphql(http, url, "mutation { tick(count: 2) }")
        return [("0190c1d2-0000-7000-8000-000000000000", seq) for seq in data["tick"]]

    return Target("bare", url, pid, TICKS, "ticks", {}, publish)


async def one_run(args: argparse.Namespace, order: list[str], workdir: Path) -> list[Figures]:
    results = []
    with live_server(workdir / "flowql") as flowql, bare_server(workdir) as (bare_url, bare_pid):
        loop = asyncio.get_running_loop()
        pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        with pool:
            for name in order:
                if name == "flowql":
                    target, other = await flowql_target(flowql.url, flowql.process.pid)

                    async def runs(target: Target = target, other: str = other) -> tuple[float, int]:
                        job = (target.url, other, args.runs_seconds, args.runs_concurrency)
                        return await loop.run_in_executor(pool, throughput, *job)

                    results.append(await measure(target, args, runs if args.runs_seconds > 0 else None))
                else:
                    results.append(await measure(bare_target(bare_url, bare_pid), args, None))
                show(results[-1])
        faults = flowql.new_faults()
    if faults:
        results[0].problems.append(f"flowql logged {len(faults)} faults: {faults[:2]}")
    return results


def show(figures: Figures) -> None:
    print(
        f"  {figures.server:6} p50 {figures.p50_ms:7.1f} ms  p99 {figures.p99_ms:7.1f} ms  "
        f"{figures.deliveries_per_s:6} deliveries/s  {figures.kb_per_subscriber:5.1f} KB/subscriber  "
        f"CPU server {figures.server_cpu_s:.1f} s, client {figures.client_cpu_s:.1f} s "
        f"over {figures.drive_s:.1f} s  "
        f"({figures.deliveries}/{figures.expected} delivered)"
    )
    if figures.runs_per_s_alone is not None:
        ratio = (figures.runs_per_s_fed or 0) / figures.runs_per_s_alone
        paired = median(fed / idle for idle, fed in figures.runs_rounds if idle)
        print(
            f"         runWorkflow(wait) {figures.runs_per_s_alone}/s alone, "
            f"{figures.runs_per_s_fed}/s while feeding the subscribers ({ratio:.0%}); "
            f"rounds (idle, fed) {figures.runs_rounds}: fed/idle median {paired:.0%}; "
            f"server CPU per run {figures.server_cpu_per_run_ms} ms"
        )
    for problem in figures.problems:
        print(f"         PROBLEM {problem}")
    sys.stdout.flush()


def ratios(results: list[Figures]) -> dict[str, float]:
    by = {f.server: f for f in results}
    if set(by) != {"flowql", "bare"}:
        return {}
    f, b = by["flowql"], by["bare"]
    return {
        "p50": round(f.p50_ms / b.p50_ms, 2),
        "p99": round(f.p99_ms / b.p99_ms, 2),
        "deliveries_per_s": round(f.deliveries_per_s / max(b.deliveries_per_s, 1), 2),
        "kb_per_subscriber": round(f.kb_per_subscriber / b.kb_per_subscriber, 2)
        if b.kb_per_subscriber
        else float("nan"),
        "server_cpu": round(f.server_cpu_s / b.server_cpu_s, 2) if b.server_cpu_s else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="deliveries per second per subscriber")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--protocol", choices=(TRANSPORT_WS, LEGACY_WS), default=TRANSPORT_WS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=("flowql", "bare"))
    parser.add_argument(
        "--runs-seconds", type=float, default=5.0, help="runWorkflow throughput phases; 0: skip"
    )
    parser.add_argument("--runs-concurrency", type=int, default=16)
    parser.add_argument(
        "--runs-rounds", type=int, default=3, help="idle/fed throughput rounds with the subscribers connected"
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes holding the subscribers")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    failed = False
    print(
        f"{args.subscribers} subscribers ({args.protocol}), {args.rate:g} deliveries/s each, "
        f"{args.seconds:g} s; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    for n in range(args.repeat):
        order = [args.only] if args.only else (["flowql", "bare"] if n % 2 == 0 else ["bare", "flowql"])
        print(f"run {n + 1}:", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(one_run(args, order, Path(tmp)))
        print(f"run {n + 1} done (load average {os.getloadavg()[0]:.2f})", flush=True)
        failed = failed or any(figures.problems for figures in results)
        found = ratios(results)
        if found:
            print("  flowql / bare: " + ", ".join(f"{k} {v}x" for k, v in found.items()))
        rows.append({"run": n + 1, "results": [vars(f) for f in results], "ratios": found})
    if args.json:
        print(json.dumps(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
