"""Scale-out figures (#13): real `flowql serve` replicas on one MongoDB database.

- takeover: a replica holding instances waiting for an event is SIGKILLed; the event is
  sent to another replica at once; time from the kill until each instance SUCCEEDED there
  (what a client waits for: lease expiry, claim, drive). p50 / max over every instance.
- cross-replica latency: replica B drives an instance, a subscriber on replica A watches it;
  B takes an event; time from the transition's commit (its `at`) to its arrival at A's
  subscriber. p50 / p99.
- throughput: instances/s of a one-send workflow started round-robin over 1, 2 and 3
  replicas, a fixed number in flight, each `runWorkflow(wait: true)`.

Starts its own FerretDB (tests/support/services.py) unless `--store mongodb://...` names a
server. The machine is shared: say the load with the figures (`uptime` is printed).

    .venv/bin/python tests/bench/scaling.py [--quick] [--lease-ttl 3] [--store URI]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

from tests.e2e.replicas import Api, Replica, collect_transitions
from tests.support.mongo import database_name, with_database
from tests.support.services import ferretdb

WAIT = [{"wait_event": {"event": "go"}}]
SEND = [
    {
        "send": {
            "source": {"account": {"id": "world", "ledger": "l${u}"}},
            "destination": {"account": {"id": "users:${u}", "ledger": "l${u}"}},
            "amount": {"amount": "100", "asset": "USD/2"},
        }
    }
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_status(api: Api, instance_id: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str((await api.instance(instance_id))["status"])
        if status != "RUNNING":
            return status
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{instance_id} still RUNNING after {timeout} s")


async def takeover(uri: str, workdir: Path, args: argparse.Namespace) -> list[float]:
    survivor = Replica("survivor", uri, workdir, lease_ttl=args.lease_ttl)
    survivor.start()
    times: list[float] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=4)) as session:
            api = Api(session, survivor)
            workflow = await api.create_workflow(WAIT)
            for trial in range(args.kills):
                victim = Replica(f"victim{trial}", uri, workdir, lease_ttl=args.lease_ttl)
                await asyncio.to_thread(victim.start)
                held = Api(session, victim)
                ids = [(await held.run(workflow, {}))["id"] for _ in range(args.per_kill)]
                await asyncio.sleep(0.3)  # each WAITING, its lease renewed at least once
                killed = time.monotonic()
                victim.kill()
                await asyncio.gather(*(api.send_event(i, "go") for i in ids))
                statuses = await asyncio.gather(*(wait_status(api, i) for i in ids))
                assert set(statuses) == {"SUCCEEDED"}, statuses
                times.append(time.monotonic() - killed)  # the last instance of the batch
                print(f"  kill {trial + 1}: all {len(ids)} taken over and finished {times[-1]:.2f} s after")
    finally:
        survivor.stop()
    return times


async def cross_replica(uri: str, workdir: Path, args: argparse.Namespace) -> list[float]:
    a = Replica("a", uri, workdir, lease_ttl=args.lease_ttl)
    b = Replica("b", uri, workdir, lease_ttl=args.lease_ttl)
    a.start()
    b.start()
    lags: list[float] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=4)) as session:
            api_b = Api(session, b)
            workflow = await api_b.create_workflow(WAIT)
            for _ in range(args.events):
                instance_id = (await api_b.run(workflow, {}))["id"]
                ready = asyncio.Event()
                arrivals: dict[int, float] = {}
                watcher = asyncio.create_task(
                    collect_transitions(session, a, instance_id, ready=ready, arrivals=arrivals)
                )
                await ready.wait()
                await asyncio.sleep(0.3)  # A's relay has carried the stored ones
                await api_b.send_event(instance_id, "go")
                seen = await asyncio.wait_for(watcher, 60)
                last = seen[-1]
                committed = datetime.fromisoformat(last["at"]).timestamp()
                lags.append(arrivals[last["seq"]] - committed)
    finally:
        a.stop()
        b.stop()
    return lags


async def throughput(uri: str, workdir: Path, replicas: int, args: argparse.Namespace) -> float:
    nodes = [Replica(f"t{replicas}{n}", uri, workdir, lease_ttl=args.lease_ttl) for n in range(replicas)]
    for node in nodes:
        node.start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=4)) as session:
            apis = [Api(session, node) for node in nodes]
            workflow = await apis[0].create_workflow(SEND)
            targets = itertools.cycle(apis)
            users = itertools.count()
            gate = asyncio.Semaphore(args.in_flight)

            async def one() -> str:
                async with gate:
                    result = await next(targets).run(workflow, {"u": f"{replicas}-{next(users)}"}, wait=True)
                    return str(result["status"])

            started = time.monotonic()
            statuses = await asyncio.gather(*(one() for _ in range(args.instances)))
            elapsed = time.monotonic() - started
            assert set(statuses) == {"SUCCEEDED"}, set(statuses)
    finally:
        for node in nodes:
            node.stop()
    return args.instances / elapsed


@contextlib.contextmanager
def server(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if args.store:
        yield args.store
        return
    with ferretdb(workdir / "ferretdb") as service:
        yield service.url


async def run(args: argparse.Namespace, workdir: Path) -> None:
    with server(args, workdir) as base:
        print(
            f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores; --lease-ttl {args.lease_ttl:g}"
        )
        if "takeover" in args.only:
            print(f"takeover after SIGKILL ({args.kills} kills x {args.per_kill} instances):")
            times = await takeover(with_database(base, database_name("bench_takeover")), workdir, args)
            print(f"takeover: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s")
        if "latency" in args.only:
            lags = await cross_replica(with_database(base, database_name("bench_latency")), workdir, args)
            print(
                f"cross-replica transition -> subscriber ({len(lags)} events): "
                f"p50 {percentile(lags, 0.5) * 1000:.0f} ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms"
            )
        if "throughput" in args.only:
            for count in args.replicas:
                rate = await throughput(
                    with_database(base, database_name(f"bench_tp{count}")), workdir, count, args
                )
                print(f"throughput, {count} replica(s): {rate:.1f} instances/s ({args.instances} runs)")
        print(f"load after: {os.getloadavg()[0]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", help="a MongoDB server URI (default: start a FerretDB)")
    parser.add_argument("--lease-ttl", type=float, default=3.0)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--per-kill", type=int, default=5, help="instances the killed replica holds")
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=12)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--only", nargs="+", default=["takeover", "latency", "throughput"])
    parser.add_argument("--quick", action="store_true", help="2 kills, 10 events, 60 instances")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.events, args.instances = 2, 10, 60
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="flowql-scaling-") as workdir:
        asyncio.run(run(args, Path(workdir)))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
