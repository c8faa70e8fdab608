"""Compare-and-set of a versioned document on servers whose updates are not atomic.

MongoDB applies `update_one({_id, version: n}, ...)` atomically, but FerretDB 1.24 does not:
it reads the matching documents, then writes them back, so two updates filtered on the same
version both match and the last one wins (measured: 19 of 20 races had two winners, and 50
concurrent `$inc` left 3). What both servers do enforce is a unique `_id`: of concurrent
inserts of one `_id`, exactly one succeeds. So a new version is claimed first, by inserting
`{_id: "kind/key@n+1", draft}` into the `versions` collection; only the claim's winner
writes the document, and it is the only writer of version `n + 1`, so its plain
`replace_one` cannot race with another writer.

The claim names its **draft** (`drafts`): the whole new document and the rows it brings,
inserted just before the claim under an `_id` of its own writer's (a loser's draft is
never named). A writer that dies between its claim and its write leaves the document at `n`
with claim `n + 1` taken. A later writer at `n` loses the claim and, once the claim is older
than `ABANDONED` (its writer is taken for dead), rolls it forward from its draft. Younger
claims are left to their writer: losers that wrote documents back while the winner was alive
were what broke this in testing (a slow loser's write of version `n + 1` landing after
`n + 2`, on FerretDB whose filtered writes are a read then a write). Every document names
the draft it was written from (`draft`); when version `n + 2` is written, the draft of `n + 1`
is discarded (deleted in batches, `drafts`), and claim `n + 1` stays, so a writer still
holding version `n` can never claim `n + 1` again. Claims are never updated: on FerretDB an
update by `_id` reads the whole collection, and the claims are the largest one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pymongo.errors import BulkWriteError, DuplicateKeyError

from .codec import Doc, utc
from .drafts import Drafts
from .server import Server

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection


DUPLICATE_KEY = 11000
ABANDONED = timedelta(seconds=2)
"""Age after which a claim not yet written is finished by others (its writer crashed)."""
SURELY_FIRST = ABANDONED / 2
"""A claim's winner whose write was acknowledged within this of its claim wrote first: no
other writer may write that version before the claim is ABANDONED (1 s spare for clocks)."""
SETTLE_ROUNDS = 8
"""Bound on the newer claims a writer that may have landed late finishes again (`_settle`)."""
DRAFT = "draft"
"""The field of a claim, and of a document, naming the draft it was written from."""


async def write_rows(collection: AsyncCollection[Doc], rows: list[Doc]) -> None:
    """Insert `rows`, replacing any whose `_id` exists (left by a write that lost).

    Not upserts: FerretDB answers concurrent upserts of one `_id` without `nModified`, which
    PyMongo's bulk API cannot read (KeyError), and its upsert is a read then a write anyway.
    """
    if not rows:
        return
    try:
        await collection.insert_many(rows, ordered=False)
    except BulkWriteError as error:
        failed = error.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in failed):
            raise
        for entry in failed:
            row = rows[entry["index"]]
            await collection.replace_one({"_id": row["_id"]}, row)


def claim_id(kind: str, key: str, version: int) -> str:
    """`kind/key@version`: unambiguous since kinds have no `/` and versions are digits.
    A string, not a document: FerretDB scans the whole collection to match an `_id` that is
    a document (0.56 s against 0.02 s at 5,000 documents, measured)."""
    return f"{kind}/{key}@{version}"


Materialize = Callable[[Doc], Awaitable[None]]
"""Writes what a draft carries besides the document (an instance's new transitions), before
the document is written; run again by whoever rolls the claim forward, so it must be
idempotent."""


async def _nothing(draft: Doc) -> None:
    return None


class Versioned:
    """Documents of one collection, each with an integer version (`field`), changed only here."""

    def __init__(
        self,
        kind: str,
        docs: AsyncCollection[Doc],
        claims: AsyncCollection[Doc],
        drafts: Drafts,
        materialize: Materialize = _nothing,
        *,
        field: str = "version",
        server: Server | None = None,
        stamp: str | None = None,
    ) -> None:
        self._server = server or Server()
        self._field = field
        self._stamp = stamp
        """A field set to the time each version is actually written (not when it was made or
        claimed: a version rolled forward after its writer died is written seconds later),
        for readers that follow writes by time (the relay of other replicas' transitions)."""
        self._kind = kind
        self._docs = docs
        self._claims = claims
        self._drafts = drafts
        self._materialize = materialize

    async def insert(self, doc: Doc) -> bool:
        """Insert the first version; False when `_id` exists."""
        try:
            await self._docs.insert_one(self._stamped(doc))
        except DuplicateKeyError:
            return False
        return True

    async def replace(
        self,
        doc: Doc,
        expected_version: int,
        carried: Doc | None = None,
        *,
        fence: tuple[str, int] | None = None,
    ) -> bool:
        """Write `doc` (whose `version` is `expected_version + 1`) only if nobody else wrote
        that version; False, writing nothing, when somebody did. `carried` rides in the claim
        for `materialize`. With `fence=(field, value)`, also False unless the stored version
        `expected_version` has that integer in `field` (absent: 0): an instance's lease epoch,
        so a writer holding a stale epoch is refused even with the current version."""
        key = doc["_id"]
        version = expected_version + 1
        assert doc[self._field] == version
        ident = claim_id(self._kind, key, version)
        draft_id = f"{ident}#{secrets.token_hex(8)}"
        doc = {**doc, DRAFT: draft_id}
        claimed, now = time.monotonic(), datetime.now(UTC)
        draft = {"_id": draft_id, "doc": doc, "claimed_at": now, **(carried or {})}
        await self._drafts.insert(draft)
        try:
            await self._claims.insert_one({"_id": ident, DRAFT: draft_id, "claimed_at": now})
        except DuplicateKeyError:
            await self._drafts.discard(draft_id)
            await self._roll_forward(ident, key, expected_version)
            return False
        projection = {self._field: 1, DRAFT: 1, **({fence[0]: 1} if fence else {})}
        current = await self._docs.find_one({"_id": key}, projection)
        if current is not None and current[self._field] == version:
            return True  # a loser of this race already rolled our claim forward
        fenced = fence is not None and current is not None and int(current.get(fence[0]) or 0) != fence[1]
        stale = current is None or current[self._field] != expected_version
        regressed = await self._regressed(key, current, expected_version) if stale and not fenced else None
        if fenced or (stale and regressed is None):
            # Version `expected_version + 1` was never claimed, yet the document is not at
            # `expected_version` (it is missing, or the caller's version was invented), or
            # the caller's fencing token is not the stored one: withdraw the claim.
            await self._claims.delete_one({"_id": ident})
            await self._drafts.discard(draft_id)
            return False
        previous = (regressed or current or {}).get(DRAFT)  # the draft of `expected_version`
        await self._materialize(draft)
        await self._write(doc, expected_version, claimed)
        if previous is not None:
            await self._drafts.discard(previous)  # version `expected_version` is superseded
        return True

    async def _write(self, doc: Doc, expected_version: int, claimed: float | None = None) -> None:
        """Replace the document at `expected_version` with `doc`: the claim's winner (which
        claimed at `claimed`, monotonic) or whoever rolls an abandoned claim forward (None)."""
        key = doc["_id"]
        if not self._server.id_filters_only:
            await self._docs.replace_one({"_id": key, self._field: expected_version}, self._stamped(doc))
            return
        # The caller read the document at `expected_version` just before. A write of ours that
        # lands after a newer version was written (we stalled past ABANDONED and somebody
        # rolled our claim forward, then moved on) is repaired by `_settle`. Nobody rolls a
        # claim forward before it is ABANDONED old, so a winner whose write was acknowledged
        # well within that (SURELY_FIRST) cannot have landed late.
        await self._docs.replace_one({"_id": key}, self._stamped(doc))
        if claimed is None or time.monotonic() - claimed > SURELY_FIRST.total_seconds():
            await self._settle(key, expected_version + 1)

    def _stamped(self, doc: Doc) -> Doc:
        return doc if self._stamp is None else {**doc, self._stamp: datetime.now(UTC)}

    async def _regressed(self, key: str, current: Doc | None, expected_version: int) -> Doc | None:
        """Is the document older than `expected_version` only because a late write is being
        settled (`_settle`)? Then `expected_version` was written (its claim, returned, exists)
        and our claim of the next one stands: we write it, and the settling writer rewrites it
        too. None when not."""
        if not self._server.id_filters_only or current is None or current[self._field] > expected_version:
            return None
        found: Doc | None = await self._claims.find_one({"_id": claim_id(self._kind, key, expected_version)})
        return found

    async def _settle(self, key: str, written: int) -> None:
        """After writing version `written` by `_id` alone: while a newer version is claimed,
        write the newest claim's document again, so a late write never leaves the document
        older than its newest claim. Whoever wrote last runs this after its write, so the
        last write of all is followed by a check that sees every claim made before it."""
        for _ in range(SETTLE_ROUNDS):
            newest = written
            while await self._claims.find_one({"_id": claim_id(self._kind, key, newest + 1)}, {"_id": 1}):
                newest += 1
            if newest == written:
                return
            draft = await self._draft(claim_id(self._kind, key, newest))
            if draft is None:
                return  # withdrawn, or superseded by a claim made since: its writer settles
            await self._materialize(draft)
            await self._docs.replace_one({"_id": key}, self._stamped(draft["doc"]))
            written = newest

    async def _draft(self, ident: str) -> Doc | None:
        """The draft of claim `ident`; None when it was withdrawn or superseded."""
        claim = await self._claims.find_one({"_id": ident})
        if claim is None or DRAFT not in claim:
            return None
        return await self._drafts.get(claim[DRAFT])

    async def _roll_forward(self, ident: str, key: str, expected_version: int) -> None:
        claim = await self._claims.find_one({"_id": ident})
        if claim is None or utc(claim["claimed_at"]) > datetime.now(UTC) - ABANDONED:
            return  # withdrawn, or its writer is (taken to be) still at it
        current = await self._docs.find_one({"_id": key}, {self._field: 1, DRAFT: 1})
        if current is None or current[self._field] != expected_version:
            return  # written (or superseded) already
        draft = await self._drafts.get(claim[DRAFT]) if DRAFT in claim else None
        if draft is None:
            return  # superseded (or withdrawn)
        await self._materialize(draft)
        await self._write(draft["doc"], expected_version)
        if current.get(DRAFT) is not None:
            await self._drafts.discard(current[DRAFT])
