"""Store write throughput against the number of writes in flight (FerretDB's single writer).

For each level of concurrency (`--in-flight`, default 1 2 4 8 16 64) on a fresh store:
`insert_instance` of N instances, then `save_instance` (a claimed version: the engine's
compare-and-set) of each of them once, with at most that many calls in flight. Prints
calls/s and the store's round trips per call (PyMongo command events), so the cost of a step
can be split into "how many round trips" and "how long each one waits".

    python tests/bench/writes_in_flight.py --store ferretdb --n 400
    python tests/bench/writes_in_flight.py --store sqlite --store ferretdb --in-flight 1 8 64

`--store`: as tests/bench/store_bench.py (`sqlite`, `ferretdb`, `sqlite:///path`, `mongodb://`).
A `ferretdb` store is one FerretDB for the whole run, a fresh database per level.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support` when run as a script

from pymongo import monitoring

from tests.bench.store_bench import make_instance, make_transition

LEVELS = [1, 2, 4, 8, 16, 64]


class Commands(monitoring.CommandListener):
    """Counts the commands the driver sends, by name and collection (one per round trip)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()

        self._names: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = f"{event.command_name} {event.command.get(event.command_name)}"
        self._names[event.request_id] = name
        self.counts[name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        self.seconds[self._names.pop(request_id, "?")] += micros / 1e6

    def take(self) -> tuple[collections.Counter[str], collections.Counter[str]]:
        counts, seconds = self.counts, self.seconds
        self.counts, self.seconds = collections.Counter(), collections.Counter()
        return counts, seconds


LISTENER = Commands()
monitoring.register(LISTENER)


async def bounded(calls: list[Callable[[], Awaitable[object]]], in_flight: int) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one(call) for call in calls))
    return time.perf_counter() - started


def describe(n: int, elapsed: float) -> str:
    counts, seconds = LISTENER.take()
    total = sum(counts.values())
    if not total:
        return f"{n / elapsed:8.1f}/s"
    parts = ", ".join(
        f"{name} {counts[name] / n:.1f} ({seconds[name] / counts[name] * 1000:.1f} ms)"
        for name in sorted(counts, key=lambda k: -seconds[k])
    )
    return f"{n / elapsed:8.1f}/s  {total / n:.1f} round trips each: {parts}"


async def level(uri: str, n: int, in_flight: int, label: str) -> None:
    from flowql.stores import create_store

    store = create_store(uri)
    await store.open()
    try:
        LISTENER.take()
        instances = [make_instance(i) for i in range(n)]
        inserts = [lambda i=i: store.insert_instance(i, [make_transition(i, 1)]) for i in instances]
        elapsed = await bounded(inserts, in_flight)  # type: ignore[arg-type]
        print(f"{label} in flight {in_flight:3d}: insert_instance {describe(n, elapsed)}", flush=True)
        saves = [
            lambda i=i: store.save_instance(
                i.model_copy(update={"transition_count": 2, "wake_at": None}),
                expected_version=0,
                transitions=[make_transition(i, 2)],
            )
            for i in instances
        ]
        elapsed = await bounded(saves, in_flight)  # type: ignore[arg-type]
        print(f"{label} in flight {in_flight:3d}: save_instance   {describe(n, elapsed)}", flush=True)
    finally:
        await store.close()


@contextlib.contextmanager
def servers(store: str, workdir: Path) -> Iterator[Callable[[], str]]:
    """A factory of fresh store URIs on one server (or one SQLite file per level)."""
    from tests.support.services import ferretdb
    from tests.support.stores import StoreUris

    if store == "sqlite":
        yield StoreUris("sqlite", workdir).new
        return
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ferretdb(workdir / "ferretdb")).url if store == "ferretdb" else store
        uris = StoreUris("mongodb", workdir, server)
        stack.callback(uris.drop)
        yield uris.new


async def main(stores: list[str], n: int, levels: list[int]) -> None:
    for store in stores:
        with tempfile.TemporaryDirectory() as folder, servers(store, Path(folder)) as new_uri:
            for in_flight in levels:
                await level(new_uri(), n, in_flight, store)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400, help="instances per level")
    parser.add_argument("--store", action="append", help="a store to measure (repeatable)")
    parser.add_argument("--in-flight", type=int, nargs="+", default=LEVELS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    asyncio.run(main(args.store or ["ferretdb"], args.n, args.in_flight))
