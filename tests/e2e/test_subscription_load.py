"""Subscriptions under load (CI size): 200 WebSocket subscribers on 40 running instances of
a `flowql serve` process; every subscriber gets every transition of its instance in order,
none missing or doubled; 10 % vanish without closing and leave no subscription, connection
or task behind (see tests/e2e/subscription_load.py; the full run is
tests/bench/subscription_load.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.live_server import live_server
from tests.e2e.subscription_load import LoadPlan, percentile, run_load

pytestmark = pytest.mark.timeout(120)


def test_200_subscribers_on_40_instances(tmp_path: Path) -> None:
    plan = LoadPlan(subscribers=200, instances=40, stages=3, abort_fraction=0.1)
    with live_server(tmp_path) as server:
        report = asyncio.run(run_load(server, plan))
        faults = server.new_faults()
    assert not report.failures, "\n".join(report.failures[:20])
    assert not faults, faults[:5]

    aborted = round(plan.subscribers * plan.abort_fraction) // 2
    assert report.gauges["subscribed"]["flowql_subscriptions_open"] == plan.subscribers
    assert report.gauges["subscribed"]["flowql_websocket_connections_open"] == plan.subscribers
    assert report.gauges["aborted before events"]["flowql_subscriptions_open"] == plan.subscribers - aborted
    after, idle = report.gauges["after"], report.gauges["idle"]
    assert after["flowql_subscriptions_open"] == 0 and after["flowql_websocket_connections_open"] == 0
    assert after["flowql_asyncio_tasks"] <= idle["flowql_asyncio_tasks"], (idle, after)

    # Each survivor's sequence equals the stored one (checked in run_load); here: they were live.
    survivors = plan.subscribers - round(plan.subscribers * plan.abort_fraction)
    assert len(report.delivery_ms) >= survivors * plan.stages
    assert percentile(report.delivery_ms, 0.99) < 2000, percentile(report.delivery_ms, 0.99)
