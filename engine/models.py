"""Domain models shared by the engine, the stores and both APIs (pydantic v2)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .stages import StageKind, stage_kind


def new_id() -> str:
    return str(uuid.uuid4())


_last_v7 = [0]
"""(milliseconds << 12 | counter) of the last UUIDv7 made by this process."""


def new_sortable_id() -> str:
    """An RFC 9562 UUIDv7: 48 bits of Unix milliseconds, version 7, a 12-bit counter
    (the RFC's method 1, so ids made in one millisecond still sort in creation order; when
    it runs out the timestamp moves on), the variant, then 62 random bits. Python 3.14's
    `uuid.uuid7` does the same; this runs on 3.11."""
    stamp = max(time.time_ns() // 1_000_000 << 12, _last_v7[0] + 1)
    _last_v7[0] = stamp
    millis, counter = stamp >> 12, stamp & 0xFFF
    random = uuid.uuid4().int & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | random
    return str(uuid.UUID(int=value))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- workflows -------------------------------------------------------------------------


class WorkflowRetry(_Model):
    """A workflow's own bound on activity attempts (Formance has none: retries are endless)."""

    max_attempts: int = Field(ge=1, le=1_000_000)


class WorkflowConfig(_Model):
    name: str | None = None
    stages: list[dict[str, Any]]
    retry: WorkflowRetry | None = None


class Workflow(_Model):
    id: str
    config: WorkflowConfig
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    def stage_kind(self, index: int) -> StageKind:
        return stage_kind(self.config.stages[index])


# --- instances -------------------------------------------------------------------------


class InstanceStatus(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class StageStatus(str, Enum):
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in {StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.CANCELLED}


class Activity(_Model):
    """One attempt-tracked activity a stage ran (a posting, a metadata write, a timer...)."""

    name: str
    input: dict[str, Any] = {}
    output: dict[str, Any] | None = None
    error: str | None = None
    terminated: bool = False
    started_at: datetime
    terminated_at: datetime | None = None
    attempt: int = 1
    last_failure: str | None = None
    next_execution: datetime | None = None


class StageState(_Model):
    """One reached stage. Its history is stored beside the instance, one `HistoryEntry` per
    ended activity (numbered 1..`history_count`); only the activity waiting for its next
    attempt (`pending`, at most one) stays here, so the instance stays small."""

    stage: int
    kind: StageKind
    status: StageStatus
    started_at: datetime
    terminated_at: datetime | None = None
    error: str | None = None
    history_count: int = 0
    """Ended activities stored for this stage: entries past it are from a lost write."""
    succeeded: int = 0
    """Of those, the ones that ended without an error (a send resumes after them)."""
    pending: Activity | None = None
    """The activity waiting for its next attempt; it ends the history when there is one."""
    ignored: int = 0
    """Events a wait_event stage ignored (another name); the first `MAX_IGNORED_RECORDED`
    (engine/steps.py) are entries of its history, the rest only counted here."""

    @property
    def terminated(self) -> bool:
        return self.status.terminal

    @property
    def history_length(self) -> int:
        """Entries of its history, the pending activity included."""
        return self.history_count + (self.pending is not None)


class HistoryEntry(_Model):
    """One ended activity of a stage, stored under `(instance_id, stage, n)`."""

    instance_id: str
    stage: int
    n: int
    """Its place in the stage's history, from 1."""
    activity: Activity


class Instance(_Model):
    id: str
    workflow_id: str
    created_at: datetime
    updated_at: datetime
    status: InstanceStatus = InstanceStatus.RUNNING
    terminated_at: datetime | None = None
    error: str | None = None
    variables: dict[str, str] = {}
    stages: list[StageState] = []
    version: int = 0
    wake_at: datetime | None = None
    """Due time of the current delay or retry: the store indexes it for the scheduler."""
    waiting_for: str | None = None
    """Event name the current wait_event stage expects."""
    inbox_cursor: int = 0
    """Position of the last inbox event handled (consumed or ignored): the inbox is read
    after it, so each event is handled once."""
    transition_count: int = 0
    driver_failures: int = 0
    """Unexpected engine failures while driving it (engine/executor.py bounds them)."""
    lease_owner: str | None = None
    """On a shared store, the replica that drives it (an `engine.replicas` owner token)."""
    lease_epoch: int = 0
    """Fencing token: bumped by every takeover. A takeover is itself a compare-and-set of the
    instance, so a save based on the state before it loses (`LeaseLost`)."""

    @property
    def terminated(self) -> bool:
        return self.status is not InstanceStatus.RUNNING

    @property
    def current(self) -> StageState | None:
        return self.stages[-1] if self.stages else None


class Transition(_Model):
    """A change of one stage's status: stored, then published, then counted."""

    instance_id: str
    workflow_id: str
    seq: int
    stage: int
    kind: StageKind
    status: StageStatus
    instance_status: InstanceStatus
    at: datetime
    error: str | None = None


class InboxEvent(_Model):
    id: str
    instance_id: str
    name: str
    received_at: datetime
    position: int = 0
    """Its place in the instance's inbox, from 1, given by the store when it is appended
    (0 until then): positions have no gaps and are visible in order."""


# --- triggers --------------------------------------------------------------------------


class Trigger(_Model):
    id: str
    name: str | None = None
    event: str
    version: str | None = None
    workflow_id: str
    filter: str | None = None
    vars: dict[str, str] = {}
    created_at: datetime
    deleted_at: datetime | None = None


class TriggerOccurrence(_Model):
    id: str
    trigger_id: str
    date: datetime
    event: dict[str, Any]
    event_id: str | None = None
    workflow_instance_id: str | None = None
    error: str | None = None

    @property
    def created_at(self) -> datetime:
        return self.date


class EventMessage(_Model):
    """Formance's EventMessage: the shape of events that fire triggers."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=256)
    version: str | None = Field(default=None, max_length=256)
    payload: dict[str, Any] = {}
    date: datetime | None = None
    app: str | None = None
    id: str | None = None


# --- embedded ledger -------------------------------------------------------------------


class Posting(_Model):
    reference: str
    """Idempotency key: `{instanceID}:{stage}` for sends made by the engine."""
    ledger: str
    source: str
    destination: str
    asset: str
    amount: int
    timestamp: datetime
    metadata: dict[str, str] = {}
    txid: int | None = None
    """The ledger's transaction id, set by the store (Formance's CreateTransaction `txid`)."""


class Account(_Model):
    ledger: str
    address: str
    balances: dict[str, int] = {}
    metadata: dict[str, str] = {}


class Wallet(_Model):
    id: str
    name: str
    ledger: str
    metadata: dict[str, str] = {}
    created_at: datetime

    def account(self, balance: str = "main") -> str:
        """Formance's wallet account: `wallets:{id without dashes}:{balance}`."""
        return f"wallets:{self.id.replace('-', '')}:{balance}"
