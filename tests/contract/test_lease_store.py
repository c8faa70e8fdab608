"""`LeaseStore` on MongoDB (the real server and mongomock): replica records, the join
refusal, takeovers decided once, fenced saves (with racing writers), pokes, the relay's
change feed. SQLite has none of it: it is single-host (tests/e2e/test_single_host.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from flowql.engine.errors import LeaseLost, StartRefused, VersionConflict
from flowql.engine.models import Instance, InstanceStatus
from flowql.engine.replicas import ReplicaRecord, join
from flowql.storage import names
from flowql.storage.mongo import MongoStore
from tests.support.mongo import abandon_claim

from .factories import at, instance, transition


def record(owner: str, expires: float, *, ttl: float = 15.0) -> ReplicaRecord:
    return ReplicaRecord(
        owner=owner, node_id=owner.split("/")[0], lease_ttl=ttl, started_at=at(0), expires_at=at(expires)
    )


def held_by(owner: str, ident: str, **kw: object) -> Instance:
    return instance("wf", ident=ident, lease_owner=owner, lease_epoch=1, transition_count=1, **kw)


async def lease(mongo: MongoStore, ident: str) -> tuple[str | None, int, int]:
    stored = await mongo.get_instance(ident)
    assert stored is not None
    return stored.lease_owner, stored.lease_epoch, stored.version


async def test_records_expire_renew_and_are_forgotten(mongo: MongoStore) -> None:
    await mongo.put_replica(record("a/1", expires=15))
    await mongo.put_replica(record("b/1", expires=5))
    assert {r.owner for r in await mongo.live_replicas(at(10))} == {"a/1"}
    assert await mongo.renew_replica(record("a/1", expires=30), at(10)) is True
    assert await mongo.renew_replica(record("b/1", expires=30), at(10)) is False  # had expired
    assert {r.owner for r in await mongo.live_replicas(at(20))} == {"a/1", "b/1"}
    assert await mongo.renew_replica(record("c/1", expires=30), at(10)) is False  # was gone
    await mongo.remove_replica("c/1")
    assert await mongo.forget_replicas(at(31)) == 2
    assert await mongo.live_replicas(at(0)) == []


async def test_join_refuses_another_ttl_and_replaces_its_own_previous_life(mongo: MongoStore) -> None:
    await join(mongo, owner="a/1", node_id="a", lease_ttl=15, now=at(0))
    refusal = r"--lease-ttl 5 differs from the 15 s of the running replicas \(a\)"
    with pytest.raises(StartRefused, match=refusal):
        await join(mongo, owner="b/1", node_id="b", lease_ttl=5, now=at(1))
    # a restarted "a" (new owner token): its previous record goes, so its instances are
    # orphans at once instead of after their TTL
    await join(mongo, owner="a/2", node_id="a", lease_ttl=15, now=at(2))
    assert [r.owner for r in await mongo.live_replicas(at(3))] == ["a/2"]
    # once no replica with the other TTL is alive, a new one is accepted
    await join(mongo, owner="b/2", node_id="b", lease_ttl=5, now=at(18))


async def test_a_takeover_moves_the_lease_and_fences_the_former_owner(mongo: MongoStore) -> None:
    held = held_by("a/1", "i1")
    await mongo.insert_instance(held, [transition(held, 1)])
    assert await mongo.claim_orphans("b/1", frozenset({"a/1", "b/1"}), 10) == []  # a is alive
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == ["i1"]
    assert await lease(mongo, "i1") == ("b/1", 2, 1)
    assert await mongo.count_held("b/1") == 1 and await mongo.count_held("a/1") == 0

    stale = held.model_copy(update={"transition_count": 2})
    with pytest.raises(LeaseLost):  # a's copy: version 0, epoch 1
        await mongo.save_instance(stale, expected_version=0, transitions=[transition(held, 2)])
    assert [t.seq for t in await mongo.list_transitions("i1")] == [1], "the fenced save wrote nothing"
    claimed = await mongo.get_instance("i1")
    assert claimed is not None
    moved = claimed.model_copy(update={"transition_count": 2})
    saved = await mongo.save_instance(moved, expected_version=1, transitions=[transition(claimed, 2)])
    assert saved.version == 2 and [t.seq for t in await mongo.list_transitions("i1")] == [1, 2]
    with pytest.raises(VersionConflict) as raised:  # same epoch, old version: a plain conflict
        await mongo.save_instance(claimed, expected_version=1, transitions=[])
    assert not isinstance(raised.value, LeaseLost)


async def test_racing_claimers_take_each_orphan_once(mongo: MongoStore) -> None:
    orphans = [held_by("dead/1", f"i{n}") for n in range(10)]
    for orphan in orphans:
        await mongo.insert_instance(orphan, [transition(orphan, 1)])
    claimers = [f"r{n}/1" for n in range(4)]
    live = frozenset(claimers)
    results = await asyncio.gather(*(mongo.claim_orphans(owner, live, 100) for owner in claimers))
    won = [i for claimed in results for i in claimed]
    assert sorted(won) == sorted(o.id for o in orphans), "each orphan claimed exactly once"
    for owner, claimed in zip(claimers, results, strict=True):
        for instance_id in claimed:
            assert await lease(mongo, instance_id) == (owner, 2, 1)


@pytest.mark.parametrize("race", range(10))
async def test_a_fenced_out_writer_racing_the_takeover_never_writes_beside_it(
    mongo: MongoStore, race: int
) -> None:
    """The former owner (still running: paused, then resumed) saves its copy three times at
    once while three replicas take the instance over. Of all of them exactly one writes
    version 1; the former owner's save either wins before the takeover (and the takeover
    then writes version 2) or raises, and nothing it wrote survives a takeover it lost."""
    held = held_by("dead/1", f"race{race}")
    await mongo.insert_instance(held, [transition(held, 1)])
    claimers = [f"r{n}/1" for n in range(3)]

    async def stale_save(n: int) -> bool:
        copy = held.model_copy(update={"transition_count": 2, "error": f"save {n}"}, deep=True)
        try:
            await mongo.save_instance(copy, expected_version=0, transitions=[transition(held, 2)])
        except VersionConflict:
            return False
        return True

    outcome = await asyncio.gather(
        *(stale_save(n) for n in range(3)),
        *(mongo.claim_orphans(owner, frozenset(claimers), 10) for owner in claimers),
    )
    saves = [won for won in outcome[:3] if won is True]
    takeovers = [owner for owner, won in zip(claimers, outcome[3:], strict=True) if won]
    assert len(saves) + len(takeovers) >= 1
    if not takeovers:  # the former owner wrote version 1 before anyone claimed: claim it now
        takeovers = [o for o in claimers if await mongo.claim_orphans(o, frozenset(claimers), 10)]
    assert len(saves) <= 1 and len(takeovers) == 1, (saves, takeovers)
    owner, epoch, version = await lease(mongo, held.id)
    assert (owner, epoch) == (takeovers[0], 2)
    stored = await mongo.list_transitions(held.id)
    if saves:
        assert version == 2 and [t.seq for t in stored] == [1, 2], "the save came first"
    else:
        assert version == 1 and [t.seq for t in stored] == [1], "a fenced save wrote nothing"
    with pytest.raises(LeaseLost):  # and from now on, whatever its copy says
        await mongo.save_instance(held, expected_version=version, transitions=[])
    assert await lease(mongo, held.id) == (owner, 2, version)


async def test_a_claimer_that_died_mid_takeover_is_rolled_forward_then_taken_over(mongo: MongoStore) -> None:
    orphan = held_by("dead/1", "i1")
    await mongo.insert_instance(orphan, [transition(orphan, 1)])
    # what a claimer killed between its claim and its write leaves: the claim of version 1
    doc = await mongo.database[names.INSTANCES].find_one({"_id": "i1"})
    assert doc is not None
    doc.update(lease_owner="dead/2", lease_epoch=2, version=1)
    abandoned = datetime.now(UTC) - timedelta(seconds=10)
    await abandon_claim(mongo, "instance/i1@1", doc, abandoned)
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == []  # finishes dead/2's claim
    assert await lease(mongo, "i1") == ("dead/2", 2, 1)
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == ["i1"]
    assert await lease(mongo, "i1") == ("b/1", 3, 2)


async def test_terminated_instances_are_never_claimed(mongo: MongoStore) -> None:
    done = held_by("dead/1", "i1")
    await mongo.insert_instance(done, [transition(done, 1)])
    finished = done.model_copy(update={"status": InstanceStatus.SUCCEEDED})
    await mongo.save_instance(finished, expected_version=0, transitions=[])
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == []


async def test_instances_from_before_leases_are_orphans(mongo: MongoStore) -> None:
    old = instance("wf", ident="old")  # no owner, epoch 0: written by a schema 2 store
    await mongo.insert_instance(old, [transition(old, 1)])
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == ["old"]
    assert await lease(mongo, "old") == ("b/1", 1, 1)


async def test_pokes_reach_the_owner_once_with_its_due_timers(mongo: MongoStore) -> None:
    waiting = held_by("a/1", "waiting")
    sleeping = held_by("a/1", "sleeping", wake_at=at(5))
    other = held_by("b/1", "other", wake_at=at(1))
    for item in (waiting, sleeping, other):
        await mongo.insert_instance(item, [transition(item, 1)])
    assert await mongo.due_for("a/1", at(1), 10) == []
    await mongo.poke("waiting")
    await mongo.poke("missing")  # no such instance: nothing to poke
    assert await mongo.due_for("a/1", at(1), 10) == ["waiting"]
    assert await mongo.due_for("a/1", at(1), 10) == [], "a poke is consumed"
    assert await mongo.due_for("a/1", at(6), 10) == ["sleeping"]
    assert await mongo.next_wake_for("a/1") == at(5)
    assert await mongo.due_for("b/1", at(6), 10) == ["other"]


async def test_the_change_feed_lists_writes_by_when_the_store_wrote_them(mongo: MongoStore) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=5)
    first = held_by("a/1", "i1")
    second = instance("wf", 2, ident="i2", lease_owner="b/1", lease_epoch=1, transition_count=1)
    await mongo.insert_instance(first, [transition(first, 1)])
    await mongo.insert_instance(second, [transition(second, 1)])
    # Stored times have millisecond resolution; two writes in one millisecond are ordered
    # by `_id`, which would put i1 first whatever this test proves.
    await asyncio.sleep(0.005)
    moved = first.model_copy(update={"transition_count": 2})  # updated_at stays in 2026-01-01
    await mongo.save_instance(moved, expected_version=0, transitions=[transition(first, 2)])
    changes = await mongo.changed_instances(before, 10)
    assert [(c.instance_id, c.transition_count) for c in changes] == [("i2", 1), ("i1", 2)]
    assert await mongo.changed_instances(datetime.now(UTC) + timedelta(seconds=1), 10) == []
    assert len(await mongo.changed_instances(before, 1)) == 1


async def test_a_version_finished_by_another_writer_is_in_the_feed_when_written(mongo: MongoStore) -> None:
    orphan = held_by("dead/1", "i1")
    await mongo.insert_instance(orphan, [transition(orphan, 1)])
    doc = await mongo.database[names.INSTANCES].find_one({"_id": "i1"})
    assert doc is not None
    doc.update(version=1, status="SUCCEEDED", running=False, transition_count=2)
    doc.pop("written_at")
    claimed_at = datetime.now(UTC) - timedelta(seconds=10)  # its writer died 10 s ago
    await abandon_claim(mongo, "instance/i1@1", doc, claimed_at)
    rolled = datetime.now(UTC) - timedelta(milliseconds=5)
    assert await mongo.claim_orphans("b/1", frozenset({"b/1"}), 10) == []  # rolls it forward
    assert [c.instance_id for c in await mongo.changed_instances(rolled, 10)] == ["i1"]
