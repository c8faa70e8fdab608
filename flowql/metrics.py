"""Prometheus metrics of one process, in a registry of its own (one per app).

Stage transitions by kind and status (an event-bus listener), instances by status (read
from the store at scrape time), HTTP request latency, open subscriptions and WebSocket
connections, and the event loop's task count. Other parts of the gateway (the NATS
consumer) add their counters here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Metric, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from flowql.engine.executor import Executor
from flowql.engine.leases import LeaseKeeper
from flowql.engine.models import InstanceStatus, Transition
from flowql.engine.runtime import Engine

if TYPE_CHECKING:
    from .fanout import Multiplexer

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.transitions = Counter(
            "flowql_stage_transitions_total",
            "Stage transitions published, by stage kind and new status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.instances = Gauge(
            "flowql_instances", "Stored instances by status.", ["status"], registry=self.registry
        )
        self.request_latency = Histogram(
            "flowql_http_request_duration_seconds",
            "HTTP request latency (WebSocket connections excluded), by method, route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.subscriptions = Gauge(
            "flowql_subscriptions_open",
            "Open GraphQL subscriptions (subscribers of shared executions).",
            registry=self.registry,
        )
        self.executions = Gauge(
            "flowql_subscription_executions_open",
            "Shared subscription executions: one per distinct document, variables and grant.",
            registry=self.registry,
        )
        self.bus_subscriptions = Gauge(
            "flowql_bus_subscriptions_open",
            "Event-bus subscriptions (one per execution).",
            registry=self.registry,
        )
        self.slow_websockets = Counter(
            "flowql_websocket_slow_closed_total",
            "WebSockets closed with 1013 as too slow (the outbound limit unsent, or a ping unanswered).",
            registry=self.registry,
        )
        self.websockets = Gauge(
            "flowql_websocket_connections_open", "Open GraphQL WebSocket connections.", registry=self.registry
        )
        self.tasks = Gauge(
            "flowql_asyncio_tasks",
            "asyncio tasks alive in the server's event loop (a leak shows as a count that only grows).",
            registry=self.registry,
        )
        self.tasks.set_function(_task_count)
        self.nats_messages = Counter(
            "flowql_nats_messages_total",
            "NATS JetStream messages handled by the event consumer, by outcome "
            "(dispatched: acked after its occurrences were stored; malformed: acked and dropped; "
            "failed: naked for redelivery).",
            ["outcome"],
            registry=self.registry,
        )
        self.nats_malformed = Counter(
            "flowql_nats_malformed_total",
            "NATS messages dropped as malformed (not JSON, no event type, payload too large).",
            registry=self.registry,
        )

        self.retries = Counter(
            "flowql_activity_retries_total",
            "Activity attempts that failed and were scheduled again (insufficient funds, a "
            "transient ledger error), by stage kind. Retries are unbounded by default, as in "
            "Formance: a count that keeps growing names a stuck instance.",
            ["kind"],
            registry=self.registry,
        )

        self.filter_errors = Counter(
            "flowql_trigger_filter_errors_total",
            "Events a trigger's filter could not judge (an evaluation error or a non-boolean "
            "result): skipped as Formance skips them, each with a warning in the log.",
            registry=self.registry,
        )
        self.ignored_unrecorded = Counter(
            "flowql_ignored_events_unrecorded_total",
            "Events a waiting stage ignored (another name than it waits for) past the first "
            "1,000 of that stage: counted on the stage, not kept in its history.",
            registry=self.registry,
        )
        self.cel_refused = Counter(
            "flowql_cel_evaluations_refused_total",
            "Sandboxed CEL evaluations (comprehensions) that gave no answer, by reason: timeout "
            "(ran past 1 s, worker killed), busy (its expression already had one running and one "
            "waiting, or no worker was free within 1 s), failed (the worker died: its memory "
            "limit). The trigger skips the event, as for any filter error; logged.",
            ["reason"],
            registry=self.registry,
        )
        self.store_available = Gauge(
            "flowql_store_available",
            "1 while the store answers the engine, 0 from a failed store call until one succeeds "
            "(instances are retried meanwhile; /readyz answers 503).",
            registry=self.registry,
        )
        self.driver_failures = Gauge(
            "flowql_driver_failures",
            "Unexpected engine failures counted on instances since start (each is in the "
            "instance's history; an instance FAILS after --max-driver-failures).",
            registry=self.registry,
        )
        self.leases_held = Gauge(
            "flowql_leases_held",
            "Running instances whose lease this replica holds (shared store only; read at scrape).",
            registry=self.registry,
        )
        self.replicas_live = Gauge(
            "flowql_replicas_live",
            "Replicas with a live lease record, this one included.",
            registry=self.registry,
        )
        self.delivery_lag = Histogram(
            "flowql_cross_replica_delivery_lag_seconds",
            "From a transition's commit time on another replica to its publication on this one's bus.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def attach(self, engine: Engine) -> None:
        """Count the engine's transitions and read its bus for the subscription gauge."""
        engine.bus.add_listener(self._on_transition)
        engine.add_retry_listener(lambda kind: self.retries.labels(kind).inc())
        engine.triggers.add_filter_error_listener(self.filter_errors.inc)
        engine.add_unrecorded_listener(self.ignored_unrecorded.inc)
        engine.triggers.add_refusal_listener(lambda reason: self.cel_refused.labels(reason).inc())
        self.bus_subscriptions.set_function(lambda: engine.bus.subscription_count)
        self.store_available.set_function(lambda: float(engine.executor.store_available))
        self.driver_failures.set_function(lambda: engine.executor.driver_failures)
        cluster = engine.cluster
        if cluster is not None:
            keeper, executor = cluster.keeper, engine.executor
            self.replicas_live.set_function(lambda: keeper.live_replicas)
            self.registry.register(_LeaseCounters(keeper, executor))
            cluster.relay.lag_observers.append(self.delivery_lag.observe)

    def attach_fanout(self, fanout: Multiplexer) -> None:
        """Subscribers and shared executions of the GraphQL view."""
        self.subscriptions.set_function(lambda: fanout.subscribers)
        self.executions.set_function(lambda: fanout.executions)

    def _on_transition(self, transition: Transition) -> None:
        self.transitions.labels(transition.kind.value, transition.status.value).inc()

    async def render(self, engine: Engine) -> tuple[bytes, str]:
        """Refresh the store-backed gauges, then the exposition text and its content type."""
        try:
            counts = await engine.store.count_instances()
        except Exception:  # a store outage: the other metrics (store_available) still answer
            log.warning("instance counts unavailable for /metrics", exc_info=True)
        else:
            for status in InstanceStatus:
                self.instances.labels(status.value).set(counts.get(status, 0))
        if engine.cluster is not None:
            try:
                self.leases_held.set(await engine.cluster.held())
            except Exception:
                log.warning("leases held unavailable for /metrics", exc_info=True)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _LeaseCounters(Collector):
    """Counters the engine keeps as plain integers, exposed at scrape time."""

    def __init__(self, keeper: LeaseKeeper, executor: Executor) -> None:
        self._keeper = keeper
        self._executor = executor

    def collect(self) -> Iterable[Metric]:
        takeovers = CounterMetricFamily(
            "flowql_lease_takeovers",
            "Instances this replica took over from replicas whose lease expired.",
        )
        takeovers.add_metric([], self._keeper.takeovers)
        losses = CounterMetricFamily(
            "flowql_lease_losses",
            "Lease losses: saves refused by the fencing epoch because another replica took the "
            "instance over (fenced), heartbeats that found this replica's record expired (expired).",
            labels=["reason"],
        )
        losses.add_metric(["fenced"], self._executor.lease_lost)
        losses.add_metric(["expired"], self._keeper.lease_losses)
        return [takeovers, losses]


def _task_count() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no running loop (rendered outside the server)
        return 0


__all__ = ["Metrics"]
