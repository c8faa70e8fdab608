"""The engine assembled: store, bus, ledger, executor, scheduler, services, recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from .bus import EventBus
from .cluster import Cluster
from .executor import DriverRetry, Executor
from .ledger import EmbeddedLedger, Ledger
from .links import LinkFetcher, Links
from .models import Instance
from .replicas import LeaseStore
from .retry import RetryPolicy
from .scheduler import Scheduler
from .services import Orchestration
from .steps import StepDeps
from .store import Store
from .triggers import TriggerService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 256
    run_timeout: float = 30.0
    subscriber_queue_size: int = 1024
    driver_retry: DriverRetry = field(default_factory=DriverRetry)
    node_id: str = "flowql"
    lease_ttl: float = 15.0
    poll_interval: float = 0.2
    """Shared store: how often a replica looks for pokes and other replicas' transitions."""


class Engine:
    """Owns the running parts. `start()` resumes every unfinished instance (recovery)."""

    def __init__(
        self,
        store: Store,
        config: EngineConfig | None = None,
        *,
        ledger: Ledger | None = None,
        leases: LeaseStore | None = None,
        link_fetcher: LinkFetcher | None = None,
    ) -> None:
        """`link_fetcher` fetches trigger `link()`s on the origins the operator allowed;
        without it links resolve against the embedded ledger only."""
        self.config = config or EngineConfig()
        self.store = store
        self.bus = EventBus(queue_size=self.config.subscriber_queue_size)
        self.ledger: Ledger = ledger or EmbeddedLedger(store)
        self._retry_listeners: list[Callable[[str], None]] = []
        self._unrecorded_listeners: list[Callable[[], None]] = []
        deps = StepDeps(
            ledger=self.ledger,
            retry=self.config.retry,
            inbox=store.list_inbox,
            on_retry=self._retried,
            on_unrecorded=self._unrecorded,
        )
        self.executor = Executor(
            store,
            self.bus,
            deps,
            max_concurrency=self.config.max_concurrency,
            on_wake_at=self._planned,
            driver_retry=self.config.driver_retry,
        )
        self.cluster: Cluster | None = None
        """Set on a shared store (several replicas); None on a single-host one."""
        if leases is None:
            self.scheduler = Scheduler(store, self._wake, store_health=self._store_health)
        else:
            self.cluster = Cluster(
                leases,
                store,
                self.bus,
                self.executor,
                node_id=self.config.node_id,
                lease_ttl=self.config.lease_ttl,
                poll_interval=self.config.poll_interval,
            )
            self.scheduler = Scheduler(
                store,
                self._wake,
                due=self.cluster.due,
                next_wake=self.cluster.next_wake,
                max_sleep=self.config.poll_interval,
                store_health=self._store_health,
            )
        self.orchestration = Orchestration(
            store,
            self.executor,
            self.bus,
            run_timeout=self.config.run_timeout,
            poke=self.cluster.poke if self.cluster is not None else None,
        )
        self.triggers = TriggerService(store, self.orchestration, links=Links(self.ledger, link_fetcher))

    def add_retry_listener(self, listener: Callable[[str], None]) -> None:
        """Called with the stage kind each time an activity fails and is scheduled again."""
        self._retry_listeners.append(listener)

    def _retried(self, kind: str) -> None:
        for listener in self._retry_listeners:
            listener(kind)

    def add_unrecorded_listener(self, listener: Callable[[], None]) -> None:
        """Called for each ignored event a waiting stage counts without recording it."""
        self._unrecorded_listeners.append(listener)

    def _unrecorded(self) -> None:
        for listener in self._unrecorded_listeners:
            listener()

    def _store_health(self, ok: bool) -> None:
        self.executor.store_available = ok

    def _wake(self, instance_id: str) -> None:
        self.executor.wake(instance_id)

    def _planned(self, instance: Instance) -> None:
        assert instance.wake_at is not None
        self.scheduler.notify(instance.wake_at)

    async def start(self) -> int:
        """Resume every instance not terminated; returns how many. Safe to run twice: a
        resumed instance re-reads its state and activities are idempotent."""
        if self.cluster is not None:
            await self.cluster.start()  # claims orphaned instances (ours from a previous run too)
            self.scheduler.start()
            return self.executor.active
        resumed = await self.store.running_instance_ids()
        for instance_id in resumed:
            self.executor.wake(instance_id)
        self.scheduler.start()
        if resumed:
            log.info("resumed instances", extra={"count": len(resumed)})
        return len(resumed)

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.executor.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.triggers.close()
