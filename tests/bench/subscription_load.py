"""Subscriptions under load, full size: 1,000 WebSocket subscribers while 200 instances run.

Starts `flowql serve` on a fresh SQLite file, opens one graphql-transport-ws connection per
subscriber on `stageTransitions(instanceID)` (5 per instance), aborts 10 % of them without a
close (half before the events, half mid-stream), drives every instance through its
wait_event stages, then checks each remaining subscriber against the stored transitions
(scenario: tests/e2e/subscription_load.py). Prints delivery latency (commit -> client) and
event latency (sendEvent -> client) p50/p99, server memory per subscriber from the process
RSS, and the /metrics gauges (open subscriptions, WebSockets, asyncio tasks) at each phase.

Each event rate is a run on a fresh server: paced (`100`: sendEvent requests evenly spaced
at 100/s) shows the delivery pipeline, `burst` (every instance's event at once, 64 in flight)
shows it saturated.

    python tests/bench/subscription_load.py [--subscribers 1000] [--instances 200]
        [--stages 3] [--rates 100,burst] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

from tests.e2e.live_server import live_server
from tests.e2e.subscription_load import LoadPlan, LoadReport, percentile, run_load

PHASES = ("idle", "subscribed", "aborted before events", "after")


def row(report: LoadReport) -> dict[str, object]:
    """One flat row (the report's table) plus the phase details."""
    plan, after = report.plan, report.gauges.get("after", {})
    return {
        "subscribers": plan.subscribers,
        "instances": plan.instances,
        "stages": plan.stages,
        "events_per_s": plan.event_rate or "burst",
        "aborted": round(plan.subscribers * plan.abort_fraction),
        "live_transitions": len(report.delivery_ms),
        "delivery_p50_ms": round(percentile(report.delivery_ms, 0.5), 2),
        "delivery_p99_ms": round(percentile(report.delivery_ms, 0.99), 2),
        "event_p50_ms": round(percentile(report.event_ms, 0.5), 2),
        "event_p99_ms": round(percentile(report.event_ms, 0.99), 2),
        "kb_per_subscriber": round(report.bytes_per_subscriber / 1024, 1),
        "subscriptions_open_after": after.get("flowql_subscriptions_open"),
        "websockets_open_after": after.get("flowql_websocket_connections_open"),
        "tasks_idle_after": f"{report.gauges['idle']['flowql_asyncio_tasks']:.0f}/"
        f"{after.get('flowql_asyncio_tasks', float('nan')):.0f}",
        "failures": len(report.failures),
        "rss_mb": {phase: round(report.rss[phase] / 2**20, 1) for phase in PHASES if phase in report.rss},
        "gauges": {phase: report.gauges[phase] for phase in PHASES if phase in report.gauges},
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
    }


def print_row(data: dict[str, object]) -> None:
    print(
        f"{data['subscribers']} subscribers on {data['instances']} instances x {data['stages']} stages, "
        f"events: {data['events_per_s']}/s, {data['aborted']} aborted without a close"
    )
    print(f"  live transitions delivered:   {data['live_transitions']}")
    print(
        f"  delivery (commit -> client):  p50 {data['delivery_p50_ms']} ms, p99 {data['delivery_p99_ms']} ms"
    )
    print(f"  sendEvent -> subscriber:      p50 {data['event_p50_ms']} ms, p99 {data['event_p99_ms']} ms")
    print(
        f"  server memory per subscriber: {data['kb_per_subscriber']} KB (RSS MB by phase {data['rss_mb']})"
    )
    gauges = data["gauges"]
    assert isinstance(gauges, dict)
    for phase, values in gauges.items():
        print(f"  /metrics {phase:22} {values}")
    print(f"  seconds: {data['seconds']}, failures: {data['failures']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--stages", type=int, default=3)
    parser.add_argument("--abort-fraction", type=float, default=0.1)
    parser.add_argument("--rates", default="100,burst", help="sendEvent/s per run, comma-separated; burst")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="200 subscribers on 40 instances")
    parser.add_argument("--json", action="store_true", help="end with one JSON line: a list of rows")
    args = parser.parse_args()
    if args.quick:
        args.subscribers, args.instances = 200, 40
    rows, failed = [], False
    for rate in args.rates.split(","):
        plan = LoadPlan(
            subscribers=args.subscribers,
            instances=args.instances,
            stages=args.stages,
            abort_fraction=args.abort_fraction,
            seed=args.seed,
            event_rate=None if rate.strip() == "burst" else float(rate),
        )
        with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as server:
            report = asyncio.run(run_load(server, plan))
            faults = server.new_faults()
        data = row(report)
        print_row(data)
        rows.append(data)
        for failure in [*report.failures[:20], *faults[:5]]:
            print("FAIL", failure, file=sys.stderr)
        failed = failed or bool(report.failures or faults)
    if args.json:
        print(json.dumps(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
