"""Indexes of the MongoDB store, created at start-up (`create_index` is a no-op when present).

An account's `_id` is `{ledger, address}` and a posting's `_id` is its reference, which makes
the reference unique; their other indexes serve the lists (`ledger_lists`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..names import ACCOUNTS, INBOX, INSTANCES, OCCURRENCES, OUTBOX, POSTINGS, TRIGGERS, WALLETS, WORKFLOWS

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
    ],
    INBOX: [("by_instance", [("instance_id", ASC), ("received_at", ASC), ("_id", ASC)], {})],
    TRIGGERS: [
        ("page", NEWEST_FIRST, {}),
        ("by_event", [("event", ASC), ("created_at", ASC), ("_id", ASC)], {}),
    ],
    OCCURRENCES: [
        ("page", [("trigger_id", ASC), ("date", DESC), ("_id", DESC)], {}),
        (
            "once_per_event",
            [("trigger_id", ASC), ("event_id", ASC)],
            {"unique": True, "partialFilterExpression": {"event_id": {"$type": "string"}}},
        ),
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


async def create_indexes(database: AsyncDatabase[Doc]) -> None:
    for collection, specs in INDEXES.items():
        for name, keys, options in specs:
            await database[collection].create_index(keys, name=name, **options)
