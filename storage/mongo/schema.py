"""Schema version and indexes of the MongoDB store, checked and created at start-up
(`create_index` is a no-op when present).

Accounts, postings and claimed versions need no index beyond `_id` for their lookups: an
account's `_id` is `ledger/address`, a posting's is its reference (which makes the reference
unique), a claim's is `kind/key@version`; their other indexes serve the lists
(`ledger_lists`). No index is partial: FerretDB refuses `partialFilterExpression`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import StartRefused

from ..names import (
    ACCOUNTS,
    INBOX,
    INSTANCES,
    META,
    MONGO_SCHEMA_VERSION,
    OCCURRENCES,
    OUTBOX,
    POKES,
    POSTINGS,
    REPLICAS,
    TRANSITIONS,
    TRIGGERS,
    UPGRADABLE_MONGO_SCHEMA,
    WALLETS,
    WORKFLOWS,
)

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from .codec import Doc

ASC, DESC = 1, -1
NEWEST_FIRST = [("created_at", DESC), ("_id", DESC)]
NEWEST_POSTING = [("timestamp", DESC), ("_id", DESC)]

IndexSpec = tuple[str, list[tuple[str, int]], dict[str, Any]]

INDEXES: dict[str, list[IndexSpec]] = {
    WORKFLOWS: [("page", NEWEST_FIRST, {})],
    INSTANCES: [
        ("page", NEWEST_FIRST, {}),
        ("by_workflow", [("workflow_id", ASC), *NEWEST_FIRST], {}),
        ("by_running", [("running", ASC), *NEWEST_FIRST], {}),
        ("due", [("running", ASC), ("wake_at", ASC)], {}),
        ("by_status", [("status", ASC)], {}),
        ("by_status_page", [("status", ASC), *NEWEST_FIRST], {}),
        ("by_workflow_status", [("workflow_id", ASC), ("status", ASC), *NEWEST_FIRST], {}),
        ("by_owner", [("lease_owner", ASC), ("running", ASC), ("wake_at", ASC)], {}),
        ("by_written", [("written_at", ASC), ("_id", ASC)], {}),
    ],
    REPLICAS: [("by_expiry", [("expires_at", ASC)], {})],
    POKES: [("by_owner", [("owner", ASC)], {})],
    TRANSITIONS: [("by_instance", [("instance_id", ASC), ("seq", ASC)], {})],
    INBOX: [("by_instance", [("instance_id", ASC), ("position", ASC)], {})],
    TRIGGERS: [
        ("page", NEWEST_FIRST, {}),
        ("by_event", [("event", ASC), ("created_at", ASC), ("_id", ASC)], {}),
    ],
    OCCURRENCES: [
        ("by_trigger", [("trigger_id", ASC), ("date", DESC), ("occurrence_id", DESC)], {}),
        ("by_id", [("occurrence_id", ASC)], {"unique": True}),
    ],
    OUTBOX: [("oldest", [("since", ASC)], {})],
    POSTINGS: [
        ("by_state", [("state", ASC), ("ledger", ASC), ("order", ASC)], {}),
        ("page", [("ledger", ASC), *NEWEST_POSTING], {}),
        ("by_source", [("ledger", ASC), ("source", ASC), *NEWEST_POSTING], {}),
        ("by_destination", [("ledger", ASC), ("destination", ASC), *NEWEST_POSTING], {}),
    ],
    ACCOUNTS: [("by_address", [("ledger", ASC), ("address", ASC)], {})],
    WALLETS: [
        ("unique_name", [("ledger", ASC), ("name", ASC)], {"unique": True}),
        ("by_name", [("name", ASC)], {}),
        ("page", [("ledger", ASC), *NEWEST_FIRST], {}),
    ],
}


class SchemaMismatch(StartRefused):
    """The database holds a flowql store of another schema version: the process refuses to
    start, with this one line."""


async def check_schema(database: AsyncDatabase[Doc]) -> None:
    """Stamp a new database with this schema version; refuse one written by another version.

    A database with flowql data but no `meta` document was written by schema 1 (which had
    none). There is no migration: schema 1 stores never left mongomock (see docs/decisions.md).
    """
    meta = database[META]
    stamp = await meta.find_one({"_id": "schema"})
    if stamp is None:
        for name in (WORKFLOWS, INSTANCES, ACCOUNTS, POSTINGS, TRIGGERS):
            if await database[name].find_one({}, {"_id": 1}) is not None:
                raise SchemaMismatch(
                    f"MongoDB database {database.name!r} holds a flowql store of schema version 1; "
                    f"this flowql needs version {MONGO_SCHEMA_VERSION} and does not migrate it: "
                    "use a new database"
                )
        try:
            await meta.insert_one({"_id": "schema", "version": MONGO_SCHEMA_VERSION})
        except DuplicateKeyError:  # another process stamped it first
            stamp = await meta.find_one({"_id": "schema"})
    if stamp is not None and stamp["version"] in UPGRADABLE_MONGO_SCHEMA:
        await meta.update_one(
            {"_id": "schema", "version": stamp["version"]}, {"$set": {"version": MONGO_SCHEMA_VERSION}}
        )
        stamp = await meta.find_one({"_id": "schema"})
    if stamp is not None and stamp["version"] > MONGO_SCHEMA_VERSION:
        raise SchemaMismatch(
            f"MongoDB database {database.name!r} holds a flowql store of schema version "
            f"{stamp['version']}, newer than this flowql understands ({MONGO_SCHEMA_VERSION}): "
            "upgrade this replica"
        )
    if stamp is not None and stamp["version"] != MONGO_SCHEMA_VERSION:
        raise SchemaMismatch(
            f"MongoDB database {database.name!r} holds a flowql store of schema version "
            f"{stamp['version']}; this flowql reads version {MONGO_SCHEMA_VERSION} only"
        )


async def create_indexes(database: AsyncDatabase[Doc]) -> None:
    for collection, specs in INDEXES.items():
        for name, keys, options in specs:
            await database[collection].create_index(keys, name=name, **options)
