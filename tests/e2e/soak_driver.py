"""Drive the crash-recovery soak: a real `flowql serve`, runs and events over GraphQL, SIGKILLs.

    report = await run_soak(SoakConfig(store="sqlite:///tmp/soak.db", workdir=..., instances=150))

Runs start over a time window; each sends its events (`sendEvent`) at random moments, in
stage order. Meanwhile a killer SIGKILLs the server at random moments, waits, starts it
again on the same store and times how long it takes to be healthy. Requests made while it
is down are retried until it is back: a `runWorkflow` cut off after it went out is looked
up by its key before being sent again, so no run is started twice. At the end the server
is stopped gracefully and the store is checked (`soak_verify`). Used by
tests/e2e/test_crash_recovery.py (short) and tests/bench/soak.py (long).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flowql.stores import create_store

from .soak_client import (
    CREATE_WALLET,
    CREATE_WORKFLOW,
    RUN_WORKFLOW,
    SEND_EVENT,
    Api,
    GraphQLFailure,
    NotSent,
    Uncertain,
)
from .soak_scenario import KEY, WALLETS, WORKFLOWS, PlannedRun, Timing, plan
from .soak_server import Server, Start
from .soak_verify import Sent, Verdict, verify


@dataclass(frozen=True, slots=True, kw_only=True)
class SoakConfig:
    store: str
    workdir: Path
    instances: int = 150
    kills: int = 3
    seed: int = 7
    timing: Timing = field(default_factory=Timing)
    down: tuple[float, float] = (0.1, 1.0)
    """Seconds the server stays dead after each kill (requests keep coming)."""
    crash_points: int = 1
    """Restarts armed with FLOWQL_CRASH_AT=after-activity:n: the server dies right after a
    posting, before its stage is committed (the moment a doubled posting would come from)."""
    crash_after: tuple[int, int] = (3, 15)
    settle_timeout: float = 120.0
    concurrency: int = 16


@dataclass(slots=True)
class SoakReport:
    config: SoakConfig
    verdict: Verdict
    kills: int = 0
    crashes: int = 0
    starts: list[Start] = field(default_factory=list)
    wall_seconds: float = 0.0
    settle_seconds: float = 0.0
    """From the last run's last event to every instance terminated."""
    requests: int = 0
    not_sent: int = 0
    uncertain: int = 0
    runs_recovered: int = 0
    """runWorkflow calls cut off by a kill whose instance existed all the same."""
    exit_code: int | None = None
    error_lines: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        v = self.verdict
        restarts = ", ".join(
            f"{s.healthy_after:.2f}s ({s.resumed} resumed{', armed' if s.crash_at else ''})"
            for s in self.starts[1:]
        )
        return [
            f"store            {self.config.store.split('?')[0]}",
            f"instances        {v.instances} ({dict(sorted(v.statuses.items()))}), seed {self.config.seed}",
            f"kills            {self.kills} SIGKILLs from outside, {self.crashes} at a crash point "
            f"(after an activity ran, before its commit); graceful exit code {self.exit_code}",
            f"first start      {self.starts[0].healthy_after:.2f}s to healthy" if self.starts else "",
            f"restarts         {restarts or '-'}",
            f"events           {v.events_accepted} accepted, {v.events_stored} stored, "
            f"{v.events_consumed} consumed ({v.events_early} before their stage started; "
            f"{v.events_kept_unanswered} stored though their request was cut off)",
            f"postings         {v.postings} over {v.accounts} accounts",
            f"requests         {self.requests} ({self.not_sent} refused while down, {self.uncertain} cut "
            f"off; {self.runs_recovered} cut-off runs found already started)",
            f"wall time        {self.wall_seconds:.1f}s (settling after the last event "
            f"{self.settle_seconds:.1f}s)",
            f"server errors    {len(self.error_lines)} log lines at ERROR",
            f"violations       {len(v.violations)}",
            *(f"  - {line}" for line in v.violations[:50]),
        ]


GIVE_UP = 120.0
"""Seconds a request is retried while the server is down before the soak gives up."""


async def _pause(give_up: float, what: str) -> None:
    if asyncio.get_running_loop().time() > give_up:
        raise TimeoutError(f"{what}: the server did not come back within {GIVE_UP} s")
    await asyncio.sleep(0.1)


class _Soak:
    def __init__(self, config: SoakConfig, server: Server, api: Api) -> None:
        self.config = config
        self.server = server
        self.api = api
        self.rng = random.Random(config.seed + 1)
        self.workflows: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.sent: dict[str, Sent] = {}
        self.recovered = 0

    async def setup(self) -> dict[str, str]:
        """Wallets and workflows, before any kill; returns wallet name → main account."""
        wallets = {}
        for k in range(WALLETS):
            data = await self.api.call(CREATE_WALLET, name=f"soak-{k}")
            wallet_id = data["createWallet"]["id"].replace("-", "")  # Formance's wallet account
            wallets[f"soak-{k}"] = f"wallets:{wallet_id}:main"
        for name, stages in WORKFLOWS.items():
            data = await self.api.call(CREATE_WORKFLOW, w={"name": name, "stages": stages})
            self.workflows[name] = data["createWorkflow"]["id"]
        return wallets

    async def drive(self, run: PlannedRun, t0: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, t0 + run.start_at - loop.time()))
        instance_id = await self.start_run(run)
        self.ids[run.key] = instance_id
        created = loop.time()
        sent = self.sent[run.key] = Sent()
        for name, offset in run.events:
            await asyncio.sleep(max(0.0, created + offset - loop.time()))
            await self.send_event(instance_id, name, sent)

    async def start_run(self, run: PlannedRun) -> str:
        """Start the run once: after a cut-off request, look for its instance before resending."""
        workflow_id = self.workflows[run.workflow]
        cut_off = False
        give_up = asyncio.get_running_loop().time() + GIVE_UP
        while True:
            try:
                if cut_off:
                    found = await self.api.find_run(workflow_id, KEY, run.key)
                    if found is not None:
                        self.recovered += 1
                        return found
                    cut_off = False
                data = await self.api.call(RUN_WORKFLOW, id=workflow_id, v=run.variables)
                return str(data["runWorkflow"]["id"])
            except Uncertain:
                cut_off = True
            except NotSent:
                pass
            await _pause(give_up, f"runWorkflow {run.key}")

    async def send_event(self, instance_id: str, name: str, sent: Sent) -> None:
        """Until accepted; a cut-off request may have been kept, so it is counted as uncertain."""
        give_up = asyncio.get_running_loop().time() + GIVE_UP
        while True:
            try:
                await self.api.call(SEND_EVENT, id=instance_id, name=name)
                sent.accepted[name] += 1
                return
            except Uncertain:
                sent.uncertain[name] += 1
            except NotSent:
                pass
            except GraphQLFailure as error:
                sent.refused[name] = str(error)  # e.g. CONFLICT: the run ended before: checked later
                return
            await _pause(give_up, f"sendEvent {name} to {instance_id}")

    async def killer(self, t0: float, window: float) -> None:
        """Kills at random moments while runs start; one after another, each after the
        previous restart was healthy for a random while."""
        loop = asyncio.get_running_loop()
        moments = sorted(self.rng.uniform(0.15 * window, 0.95 * window) for _ in range(self.config.kills))
        for number, moment in enumerate(moments):
            await asyncio.sleep(max(self.rng.uniform(0.2, 0.8), t0 + moment - loop.time()))
            self.server.kill()
            await asyncio.sleep(self.rng.uniform(*self.config.down))
            if number < self.config.crash_points and not await self.crash_at_a_point():
                continue  # still up, armed
            await self.server.start()

    async def crash_at_a_point(self) -> bool:
        """Start armed and wait for the server to kill itself after its n-th posting; False
        if it has not within a while (it stays up, armed: the next kill ends it)."""
        crash_at = f"after-activity:{self.rng.randint(*self.config.crash_after)}"
        started = await self.server.start(crash_at=crash_at)
        if started is not None and not await self.server.until_crashed(timeout=15.0):
            return False
        await asyncio.sleep(self.rng.uniform(*self.config.down))
        return True

    async def settle(self) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.config.settle_timeout
        while loop.time() < give_up:
            if await self.api.until_answered(self.api.running_count) == 0:
                return
            await asyncio.sleep(0.25)


async def run_soak(config: SoakConfig) -> SoakReport:
    config.workdir.mkdir(parents=True, exist_ok=True)
    server = Server(config.store, config.workdir)
    await server.start()
    began = time.monotonic()
    try:
        async with Api(server.url, concurrency=config.concurrency) as api:
            soak = _Soak(config, server, api)
            wallets = await soak.setup()
            runs = plan(config.instances, seed=config.seed, timing=config.timing, wallets=wallets)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            killer = asyncio.create_task(soak.killer(t0, config.timing.window))
            await asyncio.gather(*(soak.drive(run, t0) for run in runs))
            last_event = time.monotonic()
            await killer
            await soak.settle()
            settled = time.monotonic()
            report = SoakReport(config=config, verdict=Verdict(), wall_seconds=settled - began)
            report.settle_seconds = settled - last_event
            report.requests, report.not_sent, report.uncertain = api.requests, api.not_sent, api.uncertain
            report.runs_recovered = soak.recovered
    finally:
        exit_code = server.stop()
    report.exit_code = exit_code
    report.kills = server.kills
    report.crashes = server.crashes
    report.starts = server.starts
    report.error_lines = server.errors()
    store = create_store(config.store)
    await store.open()
    try:
        report.verdict = await verify(store, runs, soak.ids, soak.sent)
    finally:
        await store.close()
    return report


@contextlib.asynccontextmanager
async def fresh_mongo_database(uri: str) -> AsyncIterator[str]:
    """`uri` with a database of its own (`flowql_soak_<random>`), dropped afterwards."""
    from pymongo import AsyncMongoClient

    name = f"flowql_soak_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(uri)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await client.drop_database(name)
        await client.close()


__all__ = ["SoakConfig", "SoakReport", "fresh_mongo_database", "run_soak"]
