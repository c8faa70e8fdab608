"""Subscriptions under load, full size: 1,000 WebSocket subscribers while 200 instances run.

Starts `flowql serve` on a fresh SQLite file, opens one graphql-transport-ws connection per
subscriber on `stageTransitions(instanceID)` (5 per instance), aborts 10 % of them without a
close (half before the events, half mid-stream), drives every instance through its
wait_event stages, then checks each remaining subscriber against the stored transitions
(scenario: tests/e2e/subscription_load.py). Prints delivery latency (commit -> client) and
event latency (sendEvent -> client) p50/p99, server memory per subscriber from the process
RSS, and the /metrics gauges (open subscriptions, WebSockets, asyncio tasks) at each phase.

    python -m tests.bench.subscription_load [--subscribers 1000] [--instances 200] [--stages 3] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from tests.e2e.live_server import live_server
from tests.e2e.subscription_load import LoadPlan, LoadReport, percentile, run_load

PHASES = ("idle", "subscribed", "aborted before events", "after")


def summary(report: LoadReport) -> dict[str, object]:
    plan = report.plan
    return {
        "subscribers": plan.subscribers,
        "instances": plan.instances,
        "stages": plan.stages,
        "event_rate": plan.event_rate or "burst",
        "aborted": round(plan.subscribers * plan.abort_fraction),
        "live_transitions_delivered": len(report.delivery_ms),
        "delivery_ms": {
            q: round(percentile(report.delivery_ms, p), 2) for q, p in (("p50", 0.5), ("p99", 0.99))
        }
        | {"max": round(max(report.delivery_ms, default=float("nan")), 2)},
        "event_to_subscriber_ms": {
            q: round(percentile(report.event_ms, p), 2) for q, p in (("p50", 0.5), ("p99", 0.99))
        },
        "kb_per_subscriber": round(report.bytes_per_subscriber / 1024, 1),
        "rss_mb": {phase: round(report.rss[phase] / 2**20, 1) for phase in PHASES if phase in report.rss},
        "gauges": {phase: report.gauges[phase] for phase in PHASES if phase in report.gauges},
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "failures": len(report.failures),
    }


def print_table(data: dict[str, object]) -> None:
    print(
        f"subscribers {data['subscribers']} on {data['instances']} instances x {data['stages']} stages, "
        f"events: {data['event_rate']}/s"
    )
    print(f"  aborted without close:          {data['aborted']}")
    print(f"  live transitions delivered:     {data['live_transitions_delivered']}")
    print(f"  delivery (commit -> client) ms: {data['delivery_ms']}")
    print(f"  sendEvent -> subscriber ms:     {data['event_to_subscriber_ms']}")
    print(f"  server memory per subscriber:   {data['kb_per_subscriber']} KB")
    print(f"  server RSS MB by phase:         {data['rss_mb']}")
    gauges = data["gauges"]
    assert isinstance(gauges, dict)
    for phase, values in gauges.items():
        print(f"  /metrics {phase:22} {values}")
    print(f"  seconds:                        {data['seconds']}")
    print(f"  failures:                       {data['failures']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--stages", type=int, default=3)
    parser.add_argument("--abort-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--rate", type=float, default=None, help="sendEvent requests per second (default: each round at once)"
    )
    args = parser.parse_args()
    plan = LoadPlan(
        subscribers=args.subscribers,
        instances=args.instances,
        stages=args.stages,
        abort_fraction=args.abort_fraction,
        seed=args.seed,
        event_rate=args.rate,
    )
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as server:
        report = asyncio.run(run_load(server, plan))
        faults = server.new_faults()
    data = summary(report)
    print_table(data)
    print(json.dumps(data))
    for failure in [*report.failures[:20], *faults[:5]]:
        print("FAIL", failure, file=sys.stderr)
    return 1 if report.failures or faults else 0


if __name__ == "__main__":
    sys.exit(main())
