"""After the soak: read the store the server left and check every invariant against the plan.

Works on any `Store` (SQLite file or MongoDB database), opened after the server stopped.
Each broken invariant is one line in `Verdict.violations`; figures go in the other fields.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from flowql.engine.models import Activity, InboxEvent, Instance, InstanceStatus, StageState, StageStatus
from flowql.engine.pagination import Cursor, PageRequest
from flowql.engine.store import MAX_ROWS, HistoryRange, Store

from .soak_scenario import ASSET, KEY, PlannedRun, may_go_negative


@dataclass(slots=True)
class Sent:
    """What the driver knows about one run's events."""

    accepted: Counter[str] = field(default_factory=Counter)
    uncertain: Counter[str] = field(default_factory=Counter)
    """Requests cut off by a kill after they went out: the server may have kept them."""
    refused: dict[str, str] = field(default_factory=dict)
    """Event name → the error the server answered with."""


@dataclass(slots=True)
class Verdict:
    instances: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    events_accepted: int = 0
    events_stored: int = 0
    events_kept_unanswered: int = 0
    """Events whose only request was cut off by a kill yet were stored (and consumed)."""
    events_consumed: int = 0
    events_early: int = 0
    """Consumed events that arrived before their wait_event stage started."""
    postings: int = 0
    accounts: int = 0
    violations: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.violations.append(message)


async def all_instances(store: Store) -> list[Instance]:
    found: list[Instance] = []
    request = PageRequest(1000)
    while True:
        page = await store.list_instances(request)
        found.extend(page.items)
        if page.next is None:
            return found
        request = PageRequest(1000, Cursor.decode(page.next))


async def verify(store: Store, runs: list[PlannedRun], ids: dict[str, str], sent: dict[str, Sent]) -> Verdict:
    """`ids`: run key → instance id as the driver learnt it; `sent`: run key → its events."""
    verdict = Verdict()
    instances = await all_instances(store)
    verdict.instances = len(instances)
    by_id = {i.id: i for i in instances}
    keys = Counter(i.variables.get(KEY) for i in instances)
    for key, count in keys.items():
        if count > 1:
            verdict.fail(f"run {key}: {count} instances (a retried runWorkflow created a duplicate)")
    for run in runs:
        instance = by_id.get(ids.get(run.key, ""))
        if instance is None:
            verdict.fail(f"run {run.key}: no instance (driver id {ids.get(run.key)})")
            continue
        verdict.statuses[instance.status.value] += 1
        _check_outcome(verdict, run, instance)
        await _check_events(verdict, store, run, instance, sent.get(run.key, Sent()))
    await _check_ledger(verdict, store, runs, ids)
    return verdict


def _check_outcome(verdict: Verdict, run: PlannedRun, instance: Instance) -> None:
    where = f"run {run.key} ({run.workflow}, {instance.id})"
    if run.fails_at is None:
        if instance.status is not InstanceStatus.SUCCEEDED:
            verdict.fail(f"{where}: {instance.status.value}, expected SUCCEEDED (error {instance.error!r})")
        return
    last = instance.current
    if instance.status is not InstanceStatus.FAILED or last is None or last.stage != run.fails_at:
        verdict.fail(
            f"{where}: {instance.status.value} at stage {last.stage if last else None}, "
            f"expected FAILED at stage {run.fails_at}"
        )
    elif last.status is not StageStatus.FAILED or "insufficient funds" not in (instance.error or ""):
        verdict.fail(f"{where}: failed with {instance.error!r}, expected insufficient funds")


async def _whole_inbox(store: Store, instance_id: str) -> list[InboxEvent]:
    events: list[InboxEvent] = []
    while page := await store.list_inbox(instance_id, events[-1].position if events else 0):
        events += page
    return events


async def _history(store: Store, instance_id: str, stage: StageState | None) -> list[Activity]:
    """The stage's ended activities the instance counts (a soak's stages have a few)."""
    if stage is None:
        return []
    count = min(stage.history_count, MAX_ROWS)
    found = await store.get_history([HistoryRange(instance_id, stage.stage, 0, count)])
    return [entry.activity for entry in found[(instance_id, stage.stage)]]


async def _check_events(
    verdict: Verdict, store: Store, run: PlannedRun, instance: Instance, sent: Sent
) -> None:
    where = f"run {run.key} ({instance.id})"
    inbox = await _whole_inbox(store, instance.id)
    stored = Counter(e.name for e in inbox)
    verdict.events_stored += len(inbox)
    for name, _ in run.events:
        accepted = sent.accepted[name]
        verdict.events_accepted += accepted
        if accepted == 0 and not (sent.uncertain[name] and stored[name]):
            # A cut-off request that the server kept, whose retry was then refused (the run had
            # already ended with it): not accepted as far as the client knows, but stored.
            verdict.fail(f"{where}: event {name!r} was never accepted ({sent.refused.get(name)})")
        elif accepted == 0:
            verdict.events_kept_unanswered += 1
        if stored[name] < accepted:
            verdict.fail(f"{where}: {accepted} {name!r} accepted, {stored[name]} in the inbox (lost)")
        if stored[name] > accepted + sent.uncertain[name]:
            verdict.fail(f"{where}: {stored[name]} {name!r} in the inbox, only {accepted} accepted")
        index = run.wait_stage(name)
        stage = next((s for s in instance.stages if s.stage == index), None)
        if run.fails_at is not None and index > run.fails_at:
            continue
        received = [a for a in await _history(store, instance.id, stage) if a.name == "ReceiveEvent"]
        first = next((e for e in inbox if e.name == name), None)
        if stage is None or len(received) != 1 or first is None or first.position > instance.inbox_cursor:
            verdict.fail(f"{where}: event {name!r} not consumed by stage {index}")
            continue
        verdict.events_consumed += 1
        if first.received_at < stage.started_at:
            verdict.events_early += 1


async def _check_ledger(verdict: Verdict, store: Store, runs: list[PlannedRun], ids: dict[str, str]) -> None:
    postings = await store.list_postings()
    verdict.postings = len(postings)
    references = Counter(p.reference for p in postings)
    for reference, count in references.items():
        if count > 1:
            verdict.fail(f"posting {reference}: {count} times (doubled)")
    expected = {f"{ids.get(run.key)}:{p.stage}": p for run in runs if run.key in ids for p in run.postings}
    actual = {p.reference: p for p in postings}
    for reference in sorted(expected.keys() - actual.keys()):
        verdict.fail(f"posting {reference}: missing")
    for reference in sorted(actual.keys() - expected.keys()):
        verdict.fail(f"posting {reference}: not expected ({actual[reference].source} → ...)")
    for reference in expected.keys() & actual.keys():
        want, got = expected[reference], actual[reference]
        if (got.source, got.destination, got.amount, got.asset) != (
            want.source,
            want.destination,
            want.amount,
            ASSET,
        ):
            verdict.fail(f"posting {reference}: {got.source}→{got.destination} {got.amount}, expected {want}")
    derived: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    for p in postings:
        derived[(p.ledger, p.source, p.asset)] -= p.amount
        derived[(p.ledger, p.destination, p.asset)] += p.amount
    verdict.accounts = len({(ledger, address) for ledger, address, _ in derived})
    for asset in {asset for _, _, asset in derived}:
        total = sum(v for (_, _, a), v in derived.items() if a == asset)
        if total != 0:
            verdict.fail(f"asset {asset}: postings sum to {total}, not 0")
    for (ledger, address, asset), balance in derived.items():
        if balance < 0 and not may_go_negative(address):
            verdict.fail(f"account {address}: {balance} {asset} without overdraft")
        stored = (await store.get_account(ledger, address)).balances.get(asset, 0)
        if stored != balance:
            verdict.fail(f"account {address}: balance {stored} {asset}, postings say {balance}")


__all__ = ["Sent", "Verdict", "all_instances", "verify"]
