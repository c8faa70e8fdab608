"""The storage contract the engine needs, as one small protocol per concern. `storage/`
implements every protocol for SQLite and MongoDB.

- `WorkflowStore`: workflow definitions.
- `InstanceStore`: instances with their transitions, inbox and wake-up index.
- `TriggerStore`: triggers and their occurrences.
- `LedgerStore`: the embedded ledger (postings, accounts, wallets).
- `OutboxStore`: which instances have transitions not yet published as events.
- `Store`: all of them plus `open`/`close`, for wiring.

A component takes the narrowest protocol it uses (the embedded ledger takes `LedgerStore`).
To add a method: declare it on the protocol of its concern, implement it in the module of
the same concern in both backends (`storage/sqlite/<concern>.py`, `storage/mongo/<concern>.py`)
and test it in `tests/contract/test_<concern>.py`.

Every method takes and returns domain models; no driver type crosses this line. A method
is one atomic write (one SQLite transaction, one MongoDB document update) unless its
docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .models import (
    Account,
    HistoryEntry,
    InboxEvent,
    Instance,
    InstanceStatus,
    Posting,
    Transition,
    Trigger,
    TriggerOccurrence,
    Wallet,
    Workflow,
)
from .pagination import Page, PageRequest


class WorkflowStore(Protocol):
    async def insert_workflow(self, workflow: Workflow) -> None: ...

    async def get_workflow(self, workflow_id: str) -> Workflow | None:
        """Deleted workflows too: running instances still need their stages."""

    async def get_workflows(self, workflow_ids: Sequence[str]) -> dict[str, Workflow]: ...

    async def list_workflows(self, page: PageRequest) -> Page[Workflow]:
        """Workflows not deleted, newest first."""

    async def delete_workflow(self, workflow_id: str, at: datetime) -> bool:
        """Soft delete; False when absent or already deleted."""


MAX_ROWS = 1000
"""Rows one paged read returns at most (transitions, inbox events, one stage's history)."""
MAX_RANGES = 1000
"""Stage histories one `get_history` call reads at most."""


@dataclass(frozen=True, slots=True)
class HistoryRange:
    """Entries `after < n <= until` of one stage's history. `until` comes from the stage's
    `history_count` in the instance as read: entries past it are from a write that lost."""

    instance_id: str
    stage: int
    after: int
    until: int

    def __post_init__(self) -> None:
        if not 0 <= self.after <= self.until or self.until - self.after > MAX_ROWS:
            raise ValueError(f"history range ({self.after}, {self.until}]: at most {MAX_ROWS} entries")


class InstanceStore(Protocol):
    # --- instances ----------------------------------------------------------------------
    async def insert_instance(
        self, instance: Instance, transitions: Sequence[Transition], history: Sequence[HistoryEntry] = ()
    ) -> None:
        """Raises FlowqlError(CONFLICT) if the id exists."""

    async def save_instance(
        self,
        instance: Instance,
        *,
        expected_version: int,
        transitions: Sequence[Transition],
        history: Sequence[HistoryEntry] = (),
    ) -> Instance:
        """Compare-and-set: writes `instance` with version `expected_version + 1` and stores
        `transitions` and the stage `history` entries, only if the stored version is still
        `expected_version`; otherwise raises VersionConflict and the instance is unchanged.
        Rows (transitions, history entries) go in first (SQLite: the same transaction); those
        the instance does not count are from a save that lost, and a later save of the same
        keys replaces them."""

    async def get_instance(self, instance_id: str) -> Instance | None: ...

    async def get_instances(self, instance_ids: Sequence[str]) -> dict[str, Instance]: ...

    async def list_instances(
        self,
        page: PageRequest,
        *,
        workflow_id: str | None = None,
        running: bool | None = None,
        statuses: Sequence[InstanceStatus] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Page[Instance]:
        """Newest first; every filter given applies: `statuses` (any of), `created_after` and
        `created_before` (exclusive bounds)."""

    async def count_instances(self) -> dict[InstanceStatus, int]: ...

    # --- wake-up index ------------------------------------------------------------------
    async def running_instance_ids(self) -> list[str]:
        """Every instance not terminated: what recovery resumes."""

    async def due_instances(self, now: datetime, limit: int) -> list[str]:
        """Running instances whose `wake_at` is at or before `now`, earliest first."""

    async def next_wake_at(self) -> datetime | None: ...

    # --- transitions --------------------------------------------------------------------
    async def list_transitions(
        self, instance_id: str, after_seq: int = 0, limit: int = MAX_ROWS
    ) -> list[Transition]:
        """The instance's transitions with `seq > after_seq` it counts (`transition_count`),
        in order, at most `limit` (itself at most `MAX_ROWS`)."""

    # --- stage histories ----------------------------------------------------------------
    async def get_history(self, ranges: Sequence[HistoryRange]) -> dict[tuple[str, int], list[HistoryEntry]]:
        """The entries of each range (at most `MAX_RANGES`), by `(instance_id, stage)`, in
        order: one query for a page of stages. Ranges of one stage may not overlap."""

    # --- inbox --------------------------------------------------------------------------
    async def append_event(self, event: InboxEvent) -> InboxEvent:
        """Stores the event at the next position of its instance's inbox and returns it with
        that position. Raises FlowqlError(CONFLICT) if its id exists (SQLite; on MongoDB ids
        are the server's UUIDv7s and not checked)."""

    async def list_inbox(self, instance_id: str, after: int = 0, limit: int = MAX_ROWS) -> list[InboxEvent]:
        """The events sent to an instance after position `after`, oldest first, at most
        `limit` (itself at most `MAX_ROWS`)."""


class TriggerStore(Protocol):
    async def insert_trigger(self, trigger: Trigger) -> None: ...

    async def get_trigger(self, trigger_id: str) -> Trigger | None:
        """Deleted triggers too."""

    async def list_triggers(self, page: PageRequest, *, name: str | None = None) -> Page[Trigger]:
        """Triggers not deleted, newest first; `name` matches a substring."""

    async def triggers_for_event(self, event_type: str) -> list[Trigger]:
        """Live triggers listening to one event type (an indexed lookup, never a scan)."""

    async def delete_trigger(self, trigger_id: str, at: datetime) -> bool: ...

    # --- occurrences --------------------------------------------------------------------
    async def insert_occurrence(self, occurrence: TriggerOccurrence) -> bool:
        """False, writing nothing, when `(trigger_id, event_id)` is already recorded. With the
        outbox enabled, an `occurrence:{id}` entry goes with it (SQLite: same transaction;
        MongoDB: written before, removed again if the occurrence was a duplicate)."""

    async def list_occurrences(self, trigger_id: str, page: PageRequest) -> Page[TriggerOccurrence]:
        """Newest first."""

    async def get_occurrence(self, occurrence_id: str) -> TriggerOccurrence | None: ...

    async def get_occurrences(self, occurrence_ids: Sequence[str]) -> dict[str, TriggerOccurrence]:
        """The occurrences among `occurrence_ids` that exist, by id."""


class LedgerStore(Protocol):
    async def post(self, posting: Posting, *, allow_overdraft: bool = False) -> Posting:
        """Apply a posting once. A posting whose `reference` exists returns the stored one
        and changes nothing. A source other than `world` may not go below zero unless
        `allow_overdraft`: raises FlowqlError(VALIDATION) naming the account."""

    async def list_postings(self, ledger: str | None = None) -> list[Posting]: ...

    async def page_postings(
        self, page: PageRequest, *, ledger: str, account: str | None = None, instance_id: str | None = None
    ) -> Page[Posting]:
        """Postings of one ledger, newest first on `(timestamp, reference)`; `account` matches
        source or destination, `instance_id` the postings whose reference is
        `{instance_id}:{stage}`. The page's cursor key is `(timestamp, reference)`."""

    # --- accounts -----------------------------------------------------------------------
    async def get_account(self, ledger: str, address: str) -> Account:
        """Any address exists with empty balances and metadata until used."""

    async def page_accounts(
        self, page: PageRequest, *, ledger: str, address_prefix: str = ""
    ) -> Page[Account]:
        """Accounts of one ledger with a balance or metadata, by address (ascending), those
        starting with `address_prefix`. The page's cursor key is `(ACCOUNT_EPOCH, address)`;
        only forward cursors are read."""

    async def accounts_by_prefix(self, ledger: str, prefixes: Sequence[str]) -> dict[str, list[Account]]:
        """For each prefix, the accounts whose address starts with it (by address, at most
        `MAX_PREFIX_ACCOUNTS` each): the balances of a page of wallets in one call."""

    async def set_account_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        """Merge keys into the account's metadata."""

    # --- wallets ------------------------------------------------------------------------
    async def insert_wallet(self, wallet: Wallet) -> None:
        """Raises FlowqlError(CONFLICT) when the name is taken in that ledger."""

    async def get_wallet(self, wallet_id: str) -> Wallet | None: ...

    async def get_wallet_by_name(self, ledger: str | None, name: str) -> Wallet | None: ...

    async def list_wallets(self, page: PageRequest, *, ledger: str, name: str | None = None) -> Page[Wallet]:
        """Wallets of one ledger, newest first; `name` matches a substring."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An instance whose transitions up to `upto` are to be published; those up to
    `published` were. `insert_instance` / `save_instance` write it with the transitions (in
    the same transaction, or on MongoDB before the compare-and-set: an entry is trusted only
    as far as the instance's stored transitions cover it)."""

    instance_id: str
    """The instance id, or `occurrence:{id}` for a trigger occurrence's event."""
    upto: int
    published: int
    since: int = 0
    """When the entry was first written (ns since the epoch)."""


class OutboxStore(Protocol):
    def enable_outbox(self) -> None:
        """Write entries from now on; off by default, since nothing else drains them."""

    async def pending_outbox(self, limit: int) -> list[OutboxEntry]:
        """Entries with something to publish, oldest first."""

    async def mark_published(self, entry: OutboxEntry, published: int) -> None:
        """Published up to `published`: the entry goes when that reaches its `upto` and no
        write raised `upto` meanwhile; otherwise only `published` is recorded."""


class Store(WorkflowStore, InstanceStore, TriggerStore, LedgerStore, OutboxStore, Protocol):
    """Every concern of one backend, with its lifecycle: what the server wires together."""

    async def open(self) -> None:
        """Connect, create the schema / indexes if missing."""

    async def close(self) -> None: ...


__all__ = [
    "MAX_RANGES",
    "MAX_ROWS",
    "HistoryRange",
    "InstanceStore",
    "LedgerStore",
    "OutboxEntry",
    "OutboxStore",
    "Store",
    "TriggerStore",
    "WorkflowStore",
]
