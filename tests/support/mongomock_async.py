"""The awaitable subset of PyMongo's async collection API that MongoStore uses, over mongomock.

mongomock is synchronous and in-memory; each call here runs it directly and then yields to
the event loop once, so concurrent store calls interleave between driver calls as they would
against a server. Only what the store (and its tests) call is here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import mongomock

Doc = dict[str, Any]


async def _yield() -> None:
    await asyncio.sleep(0)


class AsyncCursor:
    """A find() or aggregate() cursor: chain sort/skip/limit, then `async for` or to_list()."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, key_or_list: Any, direction: int | None = None) -> AsyncCursor:
        self._cursor.sort(key_or_list, direction) if direction is not None else self._cursor.sort(key_or_list)
        return self

    def skip(self, count: int) -> AsyncCursor:
        self._cursor.skip(count)
        return self

    def limit(self, count: int) -> AsyncCursor:
        self._cursor.limit(count)
        return self

    def __aiter__(self) -> AsyncCursor:
        return self

    async def __anext__(self) -> Doc:
        await _yield()
        try:
            return next(self._cursor)  # type: ignore[no-any-return]
        except StopIteration:
            raise StopAsyncIteration from None

    async def to_list(self, length: int | None = None) -> list[Doc]:
        await _yield()
        docs = list(self._cursor)
        return docs if length is None else docs[:length]


class AsyncCollection:
    def __init__(self, collection: mongomock.Collection) -> None:
        self._collection = collection
        self.name: str = collection.name

    async def insert_one(self, document: Doc) -> Any:
        await _yield()
        return self._collection.insert_one(document)

    async def insert_many(self, documents: list[Doc], ordered: bool = True) -> Any:
        await _yield()
        return self._collection.insert_many(documents, ordered=ordered)

    async def find_one(self, filter: Doc | None = None, projection: Any = None) -> Doc | None:
        await _yield()
        return self._collection.find_one(filter, projection)  # type: ignore[no-any-return]

    def find(self, filter: Doc | None = None, projection: Any = None) -> AsyncCursor:
        return AsyncCursor(self._collection.find(filter, projection))

    async def update_one(self, filter: Doc, update: Doc, upsert: bool = False) -> Any:
        await _yield()
        return self._collection.update_one(filter, update, upsert=upsert)

    async def update_many(self, filter: Doc, update: Doc, upsert: bool = False) -> Any:
        await _yield()
        return self._collection.update_many(filter, update, upsert=upsert)

    async def replace_one(self, filter: Doc, replacement: Doc, upsert: bool = False) -> Any:
        await _yield()
        return self._collection.replace_one(filter, replacement, upsert=upsert)

    async def delete_one(self, filter: Doc) -> Any:
        await _yield()
        return self._collection.delete_one(filter)

    async def delete_many(self, filter: Doc) -> Any:
        await _yield()
        return self._collection.delete_many(filter)

    async def count_documents(self, filter: Doc) -> int:
        await _yield()
        return self._collection.count_documents(filter)  # type: ignore[no-any-return]

    async def create_index(self, keys: Any, **options: Any) -> str:
        await _yield()
        return self._collection.create_index(keys, **options)  # type: ignore[no-any-return]

    async def index_information(self) -> dict[str, Any]:
        await _yield()
        return self._collection.index_information()  # type: ignore[no-any-return]

    async def aggregate(self, pipeline: list[Doc]) -> AsyncCursor:
        await _yield()
        return AsyncCursor(iter(list(self._collection.aggregate(pipeline))))


class AsyncDatabase:
    """`database[name]` gives an AsyncCollection; one mongomock client per database."""

    def __init__(self, name: str = "flowql") -> None:
        self._database = mongomock.MongoClient(tz_aware=True)[name]
        self.name = name

    def __getitem__(self, name: str) -> AsyncCollection:
        return AsyncCollection(self._database[name])

    def get_collection(self, name: str) -> AsyncCollection:
        return self[name]

    async def command(self, name: str) -> dict[str, Any]:
        """`ping` and `buildInfo` (what the store asks), answered as a MongoDB would."""
        await asyncio.sleep(0)
        if name == "buildInfo":
            return {"version": "7.0.0", "ok": 1.0}
        if name == "ping":
            return {"ok": 1.0}
        raise NotImplementedError(f"mongomock adapter: command {name!r}")
