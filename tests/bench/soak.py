"""Long crash-recovery soak, by hand: a real `flowql serve` killed with SIGKILL several times.

1,000 runs mixing delay, wait_event (events sent over GraphQL at random moments, often
before their stage) and sends between accounts and shared wallets; the server is killed at
random moments and restarted on the same store; then every invariant is checked on the
store it left. Prints the figures; exits 1 on any violation. The scenario and driver are
tests/e2e/soak_driver.py, shared with tests/e2e/test_crash_recovery.py.

    python tests/bench/soak.py [--instances 1000] [--kills 6] [--crash-points 2] [--seed 7]
                               [--store sqlite:///path | mongodb://host/db] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

from tests.e2e.soak_driver import SoakConfig, SoakReport, fresh_mongo_database, run_soak
from tests.e2e.soak_scenario import Timing


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


async def soak(args: argparse.Namespace, workdir: Path) -> SoakReport:
    timing = Timing(window=args.window, delay=(0.2, args.max_delay), event_offset=(0.0, args.max_delay + 1))
    store = args.store or f"sqlite:///{workdir / 'soak.db'}"

    def config(uri: str) -> SoakConfig:
        return SoakConfig(
            store=uri,
            workdir=workdir,
            instances=args.instances,
            kills=args.kills,
            seed=args.seed,
            timing=timing,
            concurrency=args.concurrency,
            crash_points=args.crash_points,
            crash_after=(3, 60),
            settle_timeout=300,
        )

    if store.startswith("mongodb"):
        async with fresh_mongo_database(store) as uri:
            return await run_soak(config(uri))
    return await run_soak(config(store))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--window", type=float, default=40.0, help="seconds over which runs start")
    parser.add_argument("--max-delay", type=float, default=5.0, help="longest delay stage, seconds")
    parser.add_argument("--seed", type=int, default=random.randrange(10_000))
    parser.add_argument(
        "--crash-points",
        type=int,
        default=2,
        help="restarts armed to die right after a posting (FLOWQL_CRASH_AT)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--store", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--keep", type=Path, help="folder to keep the store and server log in")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()
    before = load()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        report = asyncio.run(soak(args, workdir))
    after = load()
    if args.json:
        figures = asdict(report)
        figures["config"] = {"store": report.config.store, "instances": args.instances, "seed": args.seed}
        figures["load"] = {"before": before, "after": after}
        print(json.dumps(figures, default=str))
    else:
        print("\n".join(line for line in report.lines() if line))
        print(f"machine          before: {before}; after: {after}")
    return 1 if report.verdict.violations else 0


if __name__ == "__main__":
    sys.exit(main())
