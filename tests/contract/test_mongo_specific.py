"""What only the MongoDB store promises: crash-safe postings without transactions, the
stored document format (schema version, encodings) and the indexes created at start-up.

Runs on the real server (FerretDB, or FLOWQL_TEST_MONGODB_URI) and on mongomock
(the `mongo` fixture in conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import ObjectId

from flowql.engine import faults
from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.models import Activity, HistoryEntry, Instance, Wallet, Workflow, WorkflowConfig
from flowql.engine.pagination import PageRequest
from flowql.storage import names
from flowql.storage.mongo import MongoStore
from flowql.storage.mongo.postings import CLAIMED, CREDITED, DEBITED, REFUSED
from flowql.storage.mongo.schema import INDEXES, SchemaMismatch

from .factories import BASE, at, inbox_event, instance, occurrence, posting, transition, trigger, workflow


class Crash(Exception):
    """Stands for the process dying at a crash point."""


@pytest.fixture
def crash_at() -> Iterator[Any]:
    def arm(point: str) -> None:
        def crash() -> None:
            raise Crash(point)

        faults.arm(point, crash)

    yield arm
    faults.disarm()


async def balance(store: MongoStore, address: str) -> int:
    return (await store.get_account("default", address)).balances.get("USD/2", 0)


async def stored_posting(store: MongoStore, reference: str) -> dict[str, Any]:
    doc = await store.database[names.POSTINGS].find_one({"_id": reference})
    assert doc is not None
    return doc


# --- crash-safe postings ----------------------------------------------------------------


@pytest.mark.parametrize("point", [CLAIMED, DEBITED, CREDITED])
async def test_a_posting_cut_short_is_finished_once_by_recovery(
    mongo: MongoStore, crash_at: Any, point: str
) -> None:
    await mongo.post(posting("fund", "world", "users:1", 100))
    crash_at(point)
    with pytest.raises(Crash):
        await mongo.post(posting("p", "users:1", "users:2", 30))
    faults.disarm()
    assert (await stored_posting(mongo, "p"))["state"] == "pending"
    assert [p.reference for p in await mongo.list_postings()] == ["fund"]  # pending is not listed

    assert await mongo.recover_postings() == 1
    assert await mongo.recover_postings() == 0
    assert (await stored_posting(mongo, "p"))["state"] == "applied"
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (70, 30)
    again = await mongo.post(posting("p", "users:1", "users:2", 30))
    assert again.reference == "p"
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (70, 30)
    assert [p.reference for p in await mongo.list_postings()] == ["fund", "p"]


async def test_a_hand_written_half_applied_posting_is_recovered_exactly_once(mongo: MongoStore) -> None:
    """The on-disk shape a crashed process leaves: the posting pending, the debit done."""
    await mongo.post(posting("fund", "world", "users:1", 100))
    db = mongo.database
    await db[names.POSTINGS].insert_one(
        {
            "_id": "half",
            "schema_version": 1,
            "ledger": "default",
            "source": "users:1",
            "destination": "users:2",
            "asset": "USD/2",
            "amount": "40",
            "timestamp": BASE,
            "metadata": {},
            "state": "pending",
            "attempt": 1,
            "allow_overdraft": False,
            "order": ObjectId(),
            "error": None,
        }
    )
    source = await db[names.ACCOUNTS].find_one({"_id": "default/users:1"})
    assert source is not None
    await db[names.ACCOUNTS].update_one(
        {"_id": source["_id"], "version": source["version"]},
        {
            "$set": {"balances": {"USD/2": "60"}, "version": source["version"] + 1},
            "$push": {"applied": {"$each": ["1-half"], "$slice": -1000}},
        },
    )

    await mongo.recover_postings()
    await mongo.recover_postings()
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (60, 40)
    assert [p.amount for p in await mongo.list_postings()] == [100, 40]


async def test_open_resumes_pending_postings(mongo: MongoStore, crash_at: Any) -> None:
    crash_at(DEBITED)
    with pytest.raises(Crash):
        await mongo.post(posting("p", "world", "users:1", 5))
    faults.disarm()
    await mongo.open()
    assert await balance(mongo, "users:1") == 5
    assert (await stored_posting(mongo, "p"))["state"] == "applied"


async def test_a_refusal_cut_short_stays_a_refusal_and_the_reference_usable(
    mongo: MongoStore, crash_at: Any
) -> None:
    crash_at(REFUSED)
    with pytest.raises(Crash):
        await mongo.post(posting("p", "users:1", "users:2", 10))
    faults.disarm()
    await mongo.post(posting("fund", "world", "users:1", 10))  # funds arrive before recovery
    await mongo.recover_postings()  # the recorded decision holds: attempt 1 was refused
    doc = await stored_posting(mongo, "p")
    assert doc["state"] == "rejected" and "insufficient funds" in doc["error"]
    assert [p.reference for p in await mongo.list_postings()] == ["fund"]
    assert await balance(mongo, "users:2") == 0

    await mongo.post(posting("p", "users:1", "users:2", 10))  # attempt 2 sees the funds
    assert (await stored_posting(mongo, "p"))["attempt"] == 2
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (0, 10)


async def test_recovery_racing_a_replayed_post_moves_money_once(mongo: MongoStore, crash_at: Any) -> None:
    await mongo.post(posting("fund", "world", "users:1", 50))
    crash_at(DEBITED)
    with pytest.raises(Crash):
        await mongo.post(posting("p", "users:1", "users:2", 20))
    faults.disarm()
    await asyncio.gather(
        mongo.recover_postings(),
        mongo.post(posting("p", "users:1", "users:2", 20)),
        mongo.recover_postings(),
    )
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (30, 20)
    assert [p.reference for p in await mongo.list_postings()] == ["fund", "p"]


async def test_concurrent_posts_of_one_reference_move_money_once(mongo: MongoStore) -> None:
    await mongo.post(posting("fund", "world", "users:1", 50))
    results = await asyncio.gather(*[mongo.post(posting("same", "users:1", "users:2", 20)) for _ in range(8)])
    assert {r.reference for r in results} == {"same"}
    assert (await balance(mongo, "users:1"), await balance(mongo, "users:2")) == (30, 20)


async def test_a_refused_posting_raises_validation_and_is_not_a_posting(mongo: MongoStore) -> None:
    with pytest.raises(FlowqlError) as caught:
        await mongo.post(posting("p", "users:1", "users:2", 1))
    assert caught.value.code is ErrorCode.VALIDATION and caught.value.field == "source"
    assert (await stored_posting(mongo, "p"))["state"] == "rejected"
    assert await mongo.list_postings() == []


# --- stored documents -------------------------------------------------------------------


async def test_every_document_carries_the_schema_version(mongo: MongoStore) -> None:
    wf = workflow()
    inst = instance(wf.id)
    trig = trigger(wf.id)
    await mongo.insert_workflow(wf)
    await mongo.insert_instance(inst, [transition(inst, 1)], [history_entry(inst)])
    await mongo.append_event(inbox_event(inst.id, "go", 1))
    await mongo.insert_trigger(trig)
    await mongo.insert_occurrence(occurrence(trig.id, 1, event_id="e"))
    await mongo.post(posting("r", "world", "users:1", 1))
    await mongo.set_account_metadata("default", "users:2", {"k": "v"})
    await mongo.insert_wallet(Wallet(id="w", name="n", ledger="default", created_at=at(0)))
    collections = [names.WORKFLOWS, names.INSTANCES, names.TRANSITIONS, names.HISTORY, names.INBOX]
    collections += [names.TRIGGERS]
    collections += [names.OCCURRENCES]
    collections += [names.POSTINGS, names.ACCOUNTS, names.WALLETS]
    for collection in collections:
        docs = await mongo.database[collection].find({}).to_list(None)
        assert docs, collection
        assert all(doc["schema_version"] == names.MONGO_SCHEMA_VERSION for doc in docs), collection
    assert await mongo.database[names.META].find_one({"_id": "schema"}) == {
        "_id": "schema",
        "version": names.MONGO_SCHEMA_VERSION,
    }


def history_entry(inst: Instance, n: int = 1) -> HistoryEntry:
    started = at(n)
    activity = Activity(name="IgnoreEvent", terminated=True, started_at=started, terminated_at=started)
    return HistoryEntry(instance_id=inst.id, stage=0, n=n, activity=activity)


async def test_history_entries_and_inbox_events_have_deterministic_string_ids(mongo: MongoStore) -> None:
    """FerretDB 1.24 looks up only a string `_id` through its index: the entries of a stage
    and the events of an inbox are named `instance/stage/n` and `instance/position`."""
    inst = instance("wf")
    await mongo.insert_instance(inst, [], [history_entry(inst, 1), history_entry(inst, 2)])
    await mongo.append_event(inbox_event(inst.id, "a", 1))
    await mongo.append_event(inbox_event(inst.id, "b", 2))
    rows = await mongo.database[names.HISTORY].find({}).sort("n", 1).to_list(None)
    assert [row["_id"] for row in rows] == [f"{inst.id}/0/1", f"{inst.id}/0/2"]
    events = await mongo.database[names.INBOX].find({}).sort("position", 1).to_list(None)
    assert [(e["_id"], e["name"]) for e in events] == [(f"{inst.id}/1", "a"), (f"{inst.id}/2", "b")]


async def test_a_superseded_claim_keeps_nothing_it_carried(mongo: MongoStore) -> None:
    inst = instance("wf")
    await mongo.insert_instance(inst, [])
    one = await mongo.save_instance(
        inst, expected_version=0, transitions=[transition(inst, 1)], history=[history_entry(inst)]
    )
    claim = await mongo.database[names.VERSIONS].find_one({"_id": f"instance/{inst.id}@1"})
    assert claim is not None and set(claim) == {"_id", "draft", "claimed_at"}
    draft = await mongo.database[names.DRAFTS].find_one({"_id": claim["draft"]})
    assert draft is not None and draft["transitions"] and draft["history"]
    await mongo.save_instance(one, expected_version=1, transitions=[])
    await mongo._drafts.flush()
    assert await mongo.database[names.DRAFTS].find_one({"_id": claim["draft"]}) is None
    stored = await mongo.database[names.INSTANCES].find_one({"_id": inst.id})
    newest = await mongo.database[names.VERSIONS].find_one({"_id": f"instance/{inst.id}@2"})
    assert stored is not None and newest is not None and stored["draft"] == newest["draft"]
    assert await mongo.database[names.DRAFTS].count_documents({}) == 1, "only the newest draft stays"


async def test_transitions_are_documents_of_their_own(mongo: MongoStore) -> None:
    inst = instance("wf", transition_count=1)
    await mongo.insert_instance(inst, [transition(inst, 1)])
    two = inst.model_copy(update={"transition_count": 2})
    await mongo.save_instance(two, expected_version=0, transitions=[transition(inst, 2)])
    doc = await mongo.database[names.INSTANCES].find_one({"_id": inst.id})
    assert doc is not None and doc["version"] == 1 and doc["running"] is True
    assert "transitions" not in doc
    rows = await mongo.database[names.TRANSITIONS].find({"instance_id": inst.id}).sort("seq", 1).to_list(None)
    assert [row["_id"] for row in rows] == [f"{inst.id}/1", f"{inst.id}/2"]


async def test_any_json_round_trips(mongo: MongoStore) -> None:
    """Integers past 64 bits, keys with dots, dollars and percent signs, nested lists."""
    tricky: dict[str, Any] = {
        "amount": 2**100,
        "negative": -(2**64),
        "a.b": {"$x": [1, {"%int": "not a marker"}, "50%"]},
        "%25": None,
        "": "empty key",
    }
    wf = Workflow(
        id="wf",
        config=WorkflowConfig(name="w", stages=[{"send": tricky}]),
        created_at=at(0),
        updated_at=at(0),
    )
    await mongo.insert_workflow(wf)
    assert await mongo.get_workflow("wf") == wf
    occ = occurrence("t", 1).model_copy(update={"event": tricky})
    await mongo.insert_occurrence(occ)
    assert (await mongo.list_occurrences("t", PageRequest())).items == [occ]
    account = await mongo.set_account_metadata("default", "users:1", {"a.b": "1", "$c": "2", "%": "3"})
    assert account.metadata == {"a.b": "1", "$c": "2", "%": "3"}
    assert (await mongo.get_account("default", "users:1")).metadata == account.metadata


async def test_times_come_back_as_utc_milliseconds(mongo: MongoStore) -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=east)
    wf = workflow().model_copy(update={"created_at": moment, "updated_at": moment})
    await mongo.insert_workflow(wf)
    stored = await mongo.get_workflow(wf.id)
    assert stored is not None
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at == datetime(2026, 3, 1, 6, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
async def test_a_store_of_an_older_schema_version_is_refused(mongo: MongoStore, version: int) -> None:
    """Versions 2 and 3 embed stage histories and consumed event ids in the instance, and key
    inbox events by event id; version 4 claims carry their documents: version 5 does not read
    them, and says so."""
    held = instance("wf")
    await mongo.insert_instance(held, [transition(held, 1)])
    await mongo.database[names.META].update_one({"_id": "schema"}, {"$set": {"version": version}})
    refusal = f"schema version {version}; this flowql reads version {names.MONGO_SCHEMA_VERSION} only"
    with pytest.raises(SchemaMismatch, match=refusal):
        await mongo.open()
    stamp = await mongo.database[names.META].find_one({"_id": "schema"})
    assert stamp is not None and stamp["version"] == version  # left as it was


async def test_a_store_of_a_newer_schema_version_is_refused(mongo: MongoStore) -> None:
    await mongo.database[names.META].update_one({"_id": "schema"}, {"$set": {"version": 99}})
    newest = names.MONGO_SCHEMA_VERSION
    refusal = f"schema version 99, newer than this flowql understands \\({newest}\\): upgrade this replica"
    with pytest.raises(SchemaMismatch, match=refusal):
        await mongo.open()


async def test_a_schema_1_store_without_a_stamp_is_refused(mongo: MongoStore) -> None:
    await mongo.insert_workflow(workflow())
    await mongo.database[names.META].delete_one({"_id": "schema"})
    with pytest.raises(
        SchemaMismatch, match=f"schema version 1; this flowql needs version {names.MONGO_SCHEMA_VERSION}"
    ):
        await mongo.open()


# --- indexes ----------------------------------------------------------------------------


async def test_open_creates_every_index(mongo: MongoStore) -> None:
    await mongo.open()  # a second open is harmless
    for collection, specs in INDEXES.items():
        info = await mongo.database[collection].index_information()
        for name, keys, options in specs:
            assert name in info, f"{collection}.{name}"
            assert [(field, int(order)) for field, order in info[name]["key"]] == keys
            if options.get("unique"):
                assert info[name].get("unique") is True
        partial = [name for name, index in info.items() if "partialFilterExpression" in index]
        assert partial == [], f"{collection}: FerretDB refuses partial indexes"


async def test_a_redelivered_event_is_a_duplicate_id_not_an_index(mongo: MongoStore) -> None:
    first = occurrence("t1", 1, event_id="e1")
    assert await mongo.insert_occurrence(first)
    assert not await mongo.insert_occurrence(occurrence("t1", 2, event_id="e1"))
    assert await mongo.insert_occurrence(occurrence("t1", 3))
    docs = await mongo.database[names.OCCURRENCES].find({}).sort("date", 1).to_list(None)
    assert [doc["_id"] for doc in docs] == ["t1/e1", docs[1]["occurrence_id"]]
    assert docs[0]["occurrence_id"] == first.id


# --- connection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "database"),
    [("mongodb://localhost:1/orchestration", "orchestration"), ("mongodb://localhost:1", "flowql")],
)
async def test_from_uri_uses_the_database_the_uri_names(uri: str, database: str) -> None:
    store = MongoStore.from_uri(uri)  # the client connects lazily: no server is needed here
    try:
        assert store.database.name == database
    finally:
        await store.close()
