"""DDL of the SQLite store. Times are fixed-width ISO strings; amounts are decimal TEXT."""

from __future__ import annotations

from ..names import (
    ACCOUNTS,
    BALANCES,
    HISTORY,
    INBOX,
    INSTANCES,
    OCCURRENCES,
    OUTBOX,
    POSTINGS,
    SCHEMA_VERSION,
    TRANSITIONS,
    TRIGGERS,
    WALLETS,
    WORKFLOWS,
)

WAKE_INDEX = f"{INSTANCES}_wake"
"""Named in the scheduler's queries: without statistics the planner would prefer the
`running` index and scan every running instance to find the few that are due."""


def _time_of(field: str) -> str:
    """A time field of the JSON document as a fixed-width, sortable string (pydantic writes
    `...:00Z` for a whole second and `...:00.123000Z` otherwise)."""
    return f"strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(doc, '$.{field}'))"


# Expressions of the documents that lists filter and sort on, indexed as they are written
# (SQLite uses an expression index when a query repeats the expression).
POSTING_TIME = _time_of("timestamp")
POSTING_SOURCE = "json_extract(doc, '$.source')"
POSTING_DESTINATION = "json_extract(doc, '$.destination')"
WALLET_CREATED = _time_of("created_at")

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
)

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

DDL = f"""
CREATE TABLE IF NOT EXISTS {WORKFLOWS} (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, deleted_at TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {WORKFLOWS}_page ON {WORKFLOWS} (created_at, id) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS {INSTANCES} (
    id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, running INTEGER NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, version INTEGER NOT NULL, wake_at TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {INSTANCES}_page ON {INSTANCES} (created_at, id);
CREATE INDEX IF NOT EXISTS {INSTANCES}_workflow ON {INSTANCES} (workflow_id, created_at, id);
CREATE INDEX IF NOT EXISTS {INSTANCES}_running ON {INSTANCES} (running, created_at, id);
CREATE INDEX IF NOT EXISTS {INSTANCES}_workflow_running ON {INSTANCES} (workflow_id, running, created_at, id);
CREATE INDEX IF NOT EXISTS {INSTANCES}_status ON {INSTANCES} (status);
CREATE INDEX IF NOT EXISTS {INSTANCES}_status_page ON {INSTANCES} (status, created_at, id);
CREATE INDEX IF NOT EXISTS {INSTANCES}_workflow_status ON {INSTANCES} (workflow_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS {WAKE_INDEX} ON {INSTANCES} (wake_at)
    WHERE wake_at IS NOT NULL AND running = 1;
CREATE TABLE IF NOT EXISTS {TRANSITIONS} (
    instance_id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {HISTORY} (
    instance_id TEXT NOT NULL, stage INTEGER NOT NULL, n INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (instance_id, stage, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {OUTBOX} (
    instance_id TEXT PRIMARY KEY, upto INTEGER NOT NULL, published INTEGER NOT NULL, since INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS {OUTBOX}_since ON {OUTBOX} (since);
CREATE TABLE IF NOT EXISTS {INBOX} (
    id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, position INTEGER NOT NULL, received_at TEXT NOT NULL,
    doc TEXT NOT NULL, UNIQUE (instance_id, position));
CREATE TABLE IF NOT EXISTS {TRIGGERS} (
    id TEXT PRIMARY KEY, name TEXT, event TEXT NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS {TRIGGERS}_page ON {TRIGGERS} (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS {TRIGGERS}_event ON {TRIGGERS} (event) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS {OCCURRENCES} (
    id TEXT PRIMARY KEY, trigger_id TEXT NOT NULL, event_id TEXT, date TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (trigger_id, event_id));
CREATE INDEX IF NOT EXISTS {OCCURRENCES}_page ON {OCCURRENCES} (trigger_id, date, id);
CREATE TABLE IF NOT EXISTS {POSTINGS} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, reference TEXT NOT NULL UNIQUE, ledger TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {BALANCES} (
    ledger TEXT NOT NULL, address TEXT NOT NULL, asset TEXT NOT NULL, balance TEXT NOT NULL,
    PRIMARY KEY (ledger, address, asset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {ACCOUNTS} (
    ledger TEXT NOT NULL, address TEXT NOT NULL, metadata TEXT NOT NULL,
    PRIMARY KEY (ledger, address)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {WALLETS} (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, ledger TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (ledger, name));
CREATE INDEX IF NOT EXISTS {WALLETS}_name ON {WALLETS} (name);
CREATE INDEX IF NOT EXISTS {WALLETS}_page ON {WALLETS} (ledger, {WALLET_CREATED}, id);
CREATE INDEX IF NOT EXISTS {POSTINGS}_page ON {POSTINGS} (ledger, {POSTING_TIME}, reference);
CREATE INDEX IF NOT EXISTS {POSTINGS}_source
    ON {POSTINGS} (ledger, {POSTING_SOURCE}, {POSTING_TIME}, reference);
CREATE INDEX IF NOT EXISTS {POSTINGS}_destination
    ON {POSTINGS} (ledger, {POSTING_DESTINATION}, {POSTING_TIME}, reference);
"""

VERSION = SCHEMA_VERSION
