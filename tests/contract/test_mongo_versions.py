"""Claimed versions on both write paths (storage/mongo/versions.py, storage/mongo/server.py):
filtered writes (MongoDB) and `_id`-only writes checked by the store (FerretDB, whose
SQLite backend scans the collection for any other filter). The path is what `open()` found
out about the server; these tests also drive the `_id`-only path on mongomock by hand.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowql.storage import names
from flowql.storage.mongo import MongoStore
from flowql.storage.mongo.server import Server
from flowql.storage.mongo.versions import DRAFT, Versioned, claim_id
from tests.support.mongo import open_mongo_store
from tests.support.services import MONGODB_URI_VARIABLE


@pytest.fixture(params=["mongodb", "mongomock"])
async def mongo(request: pytest.FixtureRequest) -> AsyncIterator[MongoStore]:
    uri = request.getfixturevalue("mongodb_uri") if request.param == "mongodb" else None
    async with open_mongo_store(uri) as store:
        yield store


def versioned(store: MongoStore, *, id_only: bool) -> Versioned:
    database = store.database
    claims = database[names.VERSIONS]
    return Versioned("thing", database["things"], claims, store._drafts, server=Server(id_only))


def doc(version: int, **fields: Any) -> dict[str, Any]:
    return {"_id": "t1", "version": version, **fields}


async def stored(store: MongoStore) -> dict[str, Any] | None:
    """The document as written, without the name of the draft it was written from."""
    return await store.database["things"].find_one({"_id": "t1"}, {DRAFT: 0})


async def test_open_finds_out_whether_filters_beyond_id_are_indexed(
    mongo: MongoStore, request: pytest.FixtureRequest
) -> None:
    """The FerretDB the tests start scans; mongomock (like MongoDB) does not."""
    started_ferretdb = request.node.callspec.params["mongo"] == "mongodb" and not os.environ.get(
        MONGODB_URI_VARIABLE
    )
    assert mongo._server.id_filters_only is started_ferretdb


@pytest.mark.parametrize("id_only", [False, True])
async def test_each_version_has_one_writer_and_an_invented_one_none(mongo: MongoStore, id_only: bool) -> None:
    things = versioned(mongo, id_only=id_only)
    assert await things.insert(doc(1, n="a"))
    assert await things.replace(doc(2, n="b"), 1)
    assert not await things.replace(doc(2, n="c"), 1)  # version 2 is taken
    assert not await things.replace(doc(6, n="d"), 5)  # version 5 was never written
    assert await stored(mongo) == doc(2, n="b")
    assert await mongo.database[names.VERSIONS].find_one({"_id": claim_id("thing", "t1", 6)}) is None
    claim = await mongo.database[names.VERSIONS].find_one({"_id": claim_id("thing", "t1", 2)})
    assert claim is not None
    draft = await mongo.database[names.DRAFTS].find_one({"_id": claim[DRAFT]})
    assert draft is not None and draft["doc"]["n"] == "b"  # the newest claim keeps its draft
    assert await things.replace(doc(3, n="e"), 2)
    await mongo._drafts.flush()
    assert await mongo.database[names.VERSIONS].find_one({"_id": claim_id("thing", "t1", 2)}) == claim
    assert await mongo.database[names.DRAFTS].find_one({"_id": claim[DRAFT]}) is None
    drafts = await mongo.database[names.DRAFTS].find({}).to_list(None)
    assert [d["doc"]["n"] for d in drafts] == ["e"], "lost and withdrawn drafts are deleted too"


async def test_a_late_write_by_id_is_settled_to_the_newest_claim(mongo: MongoStore) -> None:
    """A writer that stalled after its check writes version 2 over version 4: the write by
    `_id` alone lands, and the same writer then rewrites the newest claim (4)."""
    things = versioned(mongo, id_only=True)
    assert await things.insert(doc(1, n="a"))
    assert await things.replace(doc(2, n="b"), 1)
    assert await things.replace(doc(3, n="c"), 2)
    assert await things.replace(doc(4, n="d"), 3)
    await things._write(doc(2, n="b"), 1)  # the stalled writer's replace finally lands
    assert await stored(mongo) == doc(4, n="d")


async def test_a_claim_made_while_a_late_write_is_settled_stands(mongo: MongoStore) -> None:
    """The document went back to 2 (a late write, not settled yet) while version 3 is written:
    a writer holding 3 claims 4 and writes it rather than taking version 3 for invented."""
    things = versioned(mongo, id_only=True)
    assert await things.insert(doc(1, n="a"))
    assert await things.replace(doc(2, n="b"), 1)
    assert await things.replace(doc(3, n="c"), 2)
    await mongo.database["things"].replace_one({"_id": "t1"}, doc(2, n="b"))  # landed, unsettled
    assert await things.replace(doc(4, n="d"), 3)
    assert await stored(mongo) == doc(4, n="d")


async def test_a_refused_soft_delete_sends_the_server_no_write(mongo: MongoStore) -> None:
    """Deleting what is missing or deleted already writes nothing (the fuzzer's MongoDB
    watcher counts every write command the server receives, even one that matches nothing)."""
    from datetime import UTC, datetime

    from .factories import trigger, workflow

    if not hasattr(mongo.database, "client"):
        pytest.skip("mongomock keeps no write counters")
    wf = workflow()
    await mongo.insert_workflow(wf)
    await mongo.insert_trigger(trigger(wf.id))
    assert await mongo.delete_workflow(wf.id, datetime.now(UTC))

    async def writes() -> tuple[int, ...]:
        status = await mongo.database.client.admin.command("serverStatus")
        commands = status.get("metrics", {}).get("commands", {})
        return tuple(int(commands.get(name, {}).get("total", 0)) for name in ("insert", "update", "delete"))

    before = await writes()
    assert not await mongo.delete_workflow(wf.id, datetime.now(UTC))  # deleted already
    assert not await mongo.delete_workflow("missing", datetime.now(UTC))
    assert not await mongo.delete_trigger("missing", datetime.now(UTC))
    assert await writes() == before
