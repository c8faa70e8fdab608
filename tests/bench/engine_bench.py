"""Engine throughput: N instances of a 3-stage workflow (send, update, send) on a store.

Prints completed instances/s, transitions/s, p50/p99 run latency (creation to
termination) and peak RSS for each N, for flowql and for DBOS running the same workload
(three steps per workflow on its SQLite system database), and the ratio flowql / DBOS.
Each run is a fresh child process so peak RSS is its own.

    python tests/bench/engine_bench.py --n 1000 10000 100000 [--skip-dbos] [--json]
        [--store sqlite | ferretdb | sqlite:///path | mongodb://host:port/] [--deadline S]

`--deadline S` (flowql only) stops a run S seconds after its first instance was started
(or once all N are started, if that took longer) and reports what finished by then:
instances/s is finished / seconds run, the latencies are those of the finished ones, and
the row says `finished` of `n` (a store too slow to finish N still gets a rate at N).

`--store` (flowql only; default a SQLite file): `ferretdb` starts a FerretDB for the run,
a `mongodb://` server gets a fresh database per run (dropped afterwards).

`--json` prints one JSON object instead of the table (tests/bench/report.py reads it):
`{"dbos_mode": ..., "results": [row per system and N], "ratios": {N: flowql/DBOS}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = [
    {
        "send": {
            "source": {"account": {"id": "world"}},
            "destination": {"account": {"id": "users:${id}"}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    },
    {"update": {"account": {"id": "users:${id}", "metadata": {"status": "funded"}}}},
    {
        "send": {
            "source": {"account": {"id": "users:${id}"}},
            "destination": {"account": {"id": "merchants:1"}},
            "amount": {"amount": 60, "asset": "USD/2"},
        }
    },
]


DBOS_MODE = "queue"  # or "direct": DBOS.start_workflow_async without a queue (--dbos-mode)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_flowql(n: int, uri: str, deadline: float | None = None) -> dict[str, Any]:
    from flowql.engine.runtime import Engine, EngineConfig
    from flowql.stores import create_store

    store = create_store(uri)
    await store.open()
    engine = Engine(store, EngineConfig(max_concurrency=512))
    await engine.start()
    workflow = await engine.orchestration.create_workflow(name="bench", stages=STAGES)
    done = asyncio.Event()
    finished: dict[str, float] = {}
    transitions = 0

    def count(transition: Any) -> None:
        nonlocal transitions
        transitions += 1
        if transition.instance_status.value != "RUNNING":
            finished[transition.instance_id] = time.perf_counter()
            if len(finished) == n:
                done.set()

    engine.bus.add_listener(count)
    started: dict[str, float] = {}
    begin = time.perf_counter()
    batch = 500
    for offset in range(0, n, batch):

        async def one(i: int) -> None:
            t0 = time.perf_counter()
            instance = await engine.orchestration.run_workflow(workflow.id, {"id": str(i)})
            started[instance.id] = t0

        await asyncio.gather(*(one(i) for i in range(offset, min(n, offset + batch))))
    remaining = None if deadline is None else max(0.0, begin + deadline - time.perf_counter())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), remaining)
    elapsed = time.perf_counter() - begin
    latencies = [finished[k] - started[k] for k in started if k in finished]
    await engine.stop()
    await store.close()
    return summary("flowql", n, elapsed, transitions, latencies)


def summary(system: str, n: int, elapsed: float, transitions: int, latencies: list[float]) -> dict[str, Any]:
    """`latencies` holds one entry per finished instance (all `n` unless a deadline cut the run)."""
    finished = len(latencies)
    return {
        "system": system,
        "n": n,
        "finished": finished,
        "seconds": round(elapsed, 2),
        "instances_per_s": round(finished / elapsed, 2),
        "transitions_per_s": round(transitions / elapsed, 1),
        "us_per_transition": round(elapsed / max(transitions, 1) * 1e6, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


async def run_dbos(n: int, path: Path) -> dict[str, Any]:
    """The same three activities as DBOS steps of one workflow, through a DBOS queue with
    concurrency (its recommended way to run many workflows), on a SQLite system database.
    The ledger is an in-memory dict: DBOS has no ledger, and this favours DBOS."""
    from dbos import DBOS

    DBOS(config={"name": "bench", "system_database_url": f"sqlite:///{path}", "log_level": "ERROR"})
    balances: dict[str, int] = {}
    metadata: dict[str, dict[str, str]] = {}

    @DBOS.step()
    async def post(source: str, destination: str, amount: int) -> None:
        balances[source] = balances.get(source, 0) - amount
        balances[destination] = balances.get(destination, 0) + amount

    @DBOS.step()
    async def set_metadata(address: str) -> None:
        metadata.setdefault(address, {})["status"] = "funded"

    @DBOS.workflow()
    async def transfer(i: int) -> float:
        await post("world", f"users:{i}", 100)
        await set_metadata(f"users:{i}")
        await post(f"users:{i}", "merchants:1", 60)
        return time.perf_counter()

    DBOS.launch()
    queue = await DBOS.register_queue_async("bench", worker_concurrency=512, polling_interval_sec=0.05)
    begin = time.perf_counter()
    handles = []
    starts = []
    for i in range(n):
        starts.append(time.perf_counter())
        if DBOS_MODE == "queue":
            handles.append(await queue.enqueue_async(transfer, i))
        else:
            handles.append(await DBOS.start_workflow_async(transfer, i))
    ends = [await handle.get_result() for handle in handles]
    elapsed = time.perf_counter() - begin
    DBOS.destroy()
    latencies = [end - start for start, end in zip(starts, ends, strict=True)]
    # DBOS records each step as an operation, not a status change; count 3 steps + 2 workflow
    # status changes as its "transitions" to compare like for like.
    return summary("dbos", n, elapsed, n * 5, latencies)


def child(system: str, n: int, store: str, deadline: float | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if system == "dbos":
            return asyncio.run(run_dbos(n, Path(tmp) / "dbos.db"))
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.support`
        from tests.support.stores import bench_store

        with bench_store(store, Path(tmp)) as uri:
            return asyncio.run(run_flowql(n, uri, deadline))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--skip-dbos", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--dbos-mode", choices=["queue", "direct"], default="queue")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    parser.add_argument("--store", default="sqlite", help="flowql's store (see above; default sqlite)")
    parser.add_argument("--deadline", type=float, help="seconds per flowql run, then report what finished")
    args = parser.parse_args()
    global DBOS_MODE
    DBOS_MODE = args.dbos_mode
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.store, args.deadline)))
        return
    systems = ["flowql"] if args.skip_dbos else ["flowql", "dbos"]
    out = print if not args.json else (lambda *_: None)
    columns = ("inst/s", 8), ("trans/s", 8), ("us/trans", 9), ("p50 ms", 8), ("p99 ms", 8), ("RSS MB", 7)
    out(f"{'system':8} {'N':>7} " + " ".join(f"{name:>{width}}" for name, width in columns))
    rows: list[dict[str, Any]] = []
    ratios: dict[int, float] = {}
    for n in args.n:
        results = {}
        for system in systems:
            r = run_child(system, n, args.dbos_mode, args.store, args.deadline)
            if "error" in r:
                out(f"{system:8} {n:>7} failed: {r['error']}")
                rows.append(r)
                continue
            results[system] = r
            rows.append(r)
            out(
                f"{system:8} {n:>7} {r['instances_per_s']:>8} {r['transitions_per_s']:>8} "
                f"{r['us_per_transition']:>9} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['peak_rss_mb']:>7}"
                + (f"  ({r['finished']} of {n} finished in {r['seconds']} s)" if r["finished"] < n else "")
            )
        if "flowql" in results and "dbos" in results:
            ratios[n] = round(results["flowql"]["instances_per_s"] / results["dbos"]["instances_per_s"], 2)
            out(f"{'ratio':8} {n:>7} flowql/DBOS instances/s = {ratios[n]:.2f}")
    if args.json:
        print(json.dumps({"dbos_mode": args.dbos_mode, "results": rows, "ratios": ratios}))


def run_child(system: str, n: int, dbos_mode: str, store: str, deadline: float | None) -> dict[str, Any]:
    """One system at one N in a fresh process (its own peak RSS)."""
    command = [sys.executable, __file__, "--child", system, str(n), "--dbos-mode", dbos_mode]
    command += ["--store", store]
    if deadline is not None and system == "flowql":
        command += ["--deadline", str(deadline)]
    out = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1:]
        return {"system": system, "n": n, "error": last[0] if last else f"exit code {out.returncode}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
