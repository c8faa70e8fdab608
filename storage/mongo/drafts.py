"""What a claimed version carries (`versions`), kept beside the claim: the new document and
the rows it brings, one document per claim in `drafts`, `_id` `"kind/key@version#nonce"`.

The claim itself (`versions`) stays a small row that is only ever inserted: on FerretDB 1.24
every update or delete by `_id` reads the whole collection (docs/mongodb.md), and the
claims are its largest collection. A draft is needed until a newer version is written;
then it is discarded, in batches (`delete_many` of up to `BATCH` ids): one pass over
`drafts`, which holds about one draft per document, for hundreds of versions.

A crash loses the ids not deleted yet (at most `MAX_PENDING`): those drafts stay, unread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pymongo.errors import PyMongoError

from .codec import Doc

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

BATCH = 500
"""Superseded drafts deleted by one `delete_many`."""
MAX_PENDING = 5000
"""Discarded ids waiting for a delete at most: a discard beyond it waits for the running one."""


class Drafts:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._drafts = collection
        self._pending: list[str] = []
        self._deleting: asyncio.Task[None] | None = None

    async def insert(self, draft: Doc) -> None:
        await self._drafts.insert_one(draft)

    async def get(self, draft_id: str) -> Doc | None:
        return await self._drafts.find_one({"_id": draft_id})

    async def discard(self, draft_id: str) -> None:
        """Delete the draft `draft_id` soon (its version was superseded, or never won)."""
        self._pending.append(draft_id)
        if len(self._pending) < BATCH:
            return
        if self._deleting is not None and not self._deleting.done():
            if len(self._pending) < MAX_PENDING:
                return
            await asyncio.shield(self._deleting)
        self._start()

    async def flush(self) -> None:
        """Delete every draft discarded so far (the store's `close()`, tests)."""
        if self._deleting is not None:
            await asyncio.shield(self._deleting)
        if self._pending:
            self._start()
            assert self._deleting is not None
            await asyncio.shield(self._deleting)

    def _start(self) -> None:
        batch, self._pending = self._pending, []
        self._deleting = asyncio.create_task(self._delete(batch), name="drafts-delete")

    async def _delete(self, batch: list[str]) -> None:
        try:
            await self._drafts.delete_many({"_id": {"$in": batch}})
        except PyMongoError as error:  # the store is away: try again with the next batch
            log.warning("could not delete %d superseded drafts: %s", len(batch), error)
            room = MAX_PENDING - len(self._pending)
            self._pending[:0] = batch[:room]
