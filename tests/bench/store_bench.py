"""Store throughput: inserts/s, compare-and-set saves/s and page latency, per backend.

Inserts N instances (as many in flight as the store takes: concurrent `insert_instance`
calls, which the SQLite store groups into shared commits), then saves N/10 of them with
one transition each (the engine's hot path: half change only the document, half also
clear their timer), then reads 200 pages of 100 from random cursors in both directions and
prints p50/p99 in ms.

    python tests/bench/store_bench.py --n 100000 --store sqlite --store ferretdb
    python tests/bench/store_bench.py --n 100000 --store ferretdb --in-flight 8 --saves 100 --pages 20

`--saves` and `--pages` (default N/10 and 200) make a large run feasible on FerretDB, where
every save and every page scans the collection (docs/mongodb.md).

`--store` (repeatable; default `sqlite`): `sqlite` (a temp file) or `sqlite:///path`,
`ferretdb` (a FerretDB 1.24 started for the run, tests/support/services.py), a
`mongodb://host:port/` server (a fresh database, dropped afterwards), or `mongomock`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` when run as a script

from flowql.engine.models import Instance, InstanceStatus, StageState, StageStatus, Transition
from flowql.engine.pagination import Cursor, Direction, PageRequest
from flowql.engine.stages import StageKind
from flowql.engine.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IN_FLIGHT = 2000
PAGES = 200
PAGE_SIZE = 100


def make_instance(n: int) -> Instance:
    created = T0 + timedelta(milliseconds=n // 3)  # three instances per millisecond: ties on id
    return Instance(
        id=f"{n:08d}-{random.getrandbits(64):016x}",
        workflow_id=f"wf-{n % 10}",
        created_at=created,
        updated_at=created,
        variables={"id": str(n), "amount": "100"},
        stages=[StageState(stage=0, kind=StageKind.DELAY, status=StageStatus.WAITING, started_at=created)],
        wake_at=created + timedelta(hours=1),
    )


def make_transition(instance: Instance, seq: int) -> Transition:
    return Transition(
        instance_id=instance.id,
        workflow_id=instance.workflow_id,
        seq=seq,
        stage=0,
        kind=StageKind.DELAY,
        status=StageStatus.SUCCEEDED,
        instance_status=InstanceStatus.RUNNING,
        at=instance.created_at,
    )


async def in_batches(calls: Sequence[Callable[[], Awaitable[object]]]) -> tuple[float, float]:
    """Run every call with up to IN_FLIGHT in flight; return elapsed and CPU seconds.

    CPU time (all threads of this process) is the steadier figure on a shared machine."""
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(calls), IN_FLIGHT):
        await asyncio.gather(*(call() for call in calls[start : start + IN_FLIGHT]))
        if len(calls) > 10 * IN_FLIGHT and start // IN_FLIGHT % 50 == 49:
            done = start + IN_FLIGHT
            rate = done / (time.perf_counter() - started)
            print(f"  ... {done} of {len(calls)} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return time.perf_counter() - started, time.process_time() - cpu


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(name: str, store: Store, n: int, *, saves: int | None = None, pages: int = PAGES) -> None:
    instances = [make_instance(i) for i in range(n)]
    inserts = [lambda i=i: store.insert_instance(i, [make_transition(i, 1)]) for i in instances]
    elapsed, cpu = await in_batches(inserts)
    print(f"{name}: {n} inserts in {elapsed:.2f} s: {n / elapsed:,.0f}/s ({cpu / n * 1e6:.0f} µs CPU each)")

    sample = random.sample(instances, min(n, 2 * max(1, n // 20) if saves is None else saves))
    half = len(sample) // 2
    changes = {
        "document only": (sample[:half], lambda i: {"transition_count": 2, "updated_at": i.created_at}),
        "timer cleared": (sample[half:], lambda i: {"transition_count": 2, "wake_at": None}),
    }
    for label, (chosen, update) in changes.items():
        calls = [
            lambda i=i, update=update: store.save_instance(
                i.model_copy(update=update(i)), expected_version=0, transitions=[make_transition(i, 2)]
            )
            for i in chosen
        ]
        if not calls:
            continue
        elapsed, cpu = await in_batches(calls)
        rate, each = len(chosen) / elapsed, cpu / len(chosen) * 1e6
        print(f"{name}: {len(chosen)} save_instance ({label}): {rate:,.0f}/s ({each:.0f} µs CPU each)")

    latencies: list[float] = []
    for _ in range(pages):
        anchor = random.choice(instances)
        direction = random.choice([Direction.OLDER, Direction.NEWER])
        request = PageRequest(PAGE_SIZE, Cursor(anchor.created_at, anchor.id, direction, PAGE_SIZE))
        started = time.perf_counter()
        page = await store.list_instances(request)
        latencies.append((time.perf_counter() - started) * 1000)
        assert len(page.items) <= PAGE_SIZE
    print(
        f"{name}: {pages} pages of {PAGE_SIZE} at random cursors: "
        f"p50 {statistics.median(latencies):.2f} ms, p99 {percentile(latencies, 0.99):.2f} ms"
    )

    started = time.perf_counter()
    counts = await store.count_instances()
    due = await store.due_instances(T0 + timedelta(days=1), 100)
    took = (time.perf_counter() - started) * 1000
    total = sum(counts.values())
    print(f"{name}: count_instances ({total}) + due_instances ({len(due)}) in {took:.1f} ms")


@asynccontextmanager
async def opened(store: str, workdir: Path) -> AsyncIterator[Store]:
    from flowql.stores import create_store
    from tests.support.mongo import open_mongo_store
    from tests.support.stores import bench_store

    if store == "mongomock":
        async with open_mongo_store(None) as mock:
            yield mock
        return
    with bench_store(store, workdir) as uri:
        opened_store = create_store(uri)
        await opened_store.open()
        try:
            yield opened_store
        finally:
            await opened_store.close()


async def main(n: int, stores: list[str], saves: int | None, pages: int) -> None:
    for store in stores:
        with tempfile.TemporaryDirectory() as folder:
            async with opened(store, Path(folder)) as backend:
                await bench(store, backend, n, saves=saves, pages=pages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="instances to insert")
    parser.add_argument("--store", action="append", help="a store to measure (repeatable; see above)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=IN_FLIGHT,
        help=f"calls in flight (default {IN_FLIGHT}; FerretDB died of SIGBUS at 2,000: use 16)",
    )
    parser.add_argument("--saves", type=int, help="save_instance calls (default N/10; 0: none)")
    parser.add_argument("--pages", type=int, default=PAGES, help=f"pages read (default {PAGES})")
    args = parser.parse_args()
    random.seed(args.seed)
    IN_FLIGHT = args.in_flight
    asyncio.run(main(args.n, args.store or ["sqlite"], args.saves, args.pages))
