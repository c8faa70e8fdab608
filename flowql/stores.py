"""Pick a Store from a URI: `sqlite:///path`, `sqlite:///:memory:`, `mongodb://...`.

Drivers are imported only when their scheme is used (no pymongo import for SQLite).
"""

from __future__ import annotations

from flowql.engine.store import Store

from .config import ConfigError

SQLITE = "sqlite:///"
MONGODB = ("mongodb://", "mongodb+srv://")


def store_kind(uri: str) -> str:
    if uri.startswith(SQLITE):
        return "sqlite"
    if uri.startswith(MONGODB):
        return "mongodb"
    raise ConfigError(f"store: expected sqlite:///path or mongodb://host/db, got {uri!r}")


def sqlite_path(uri: str) -> str:
    """`sqlite:///./flowql.db` -> `./flowql.db`, `sqlite:////abs.db` -> `/abs.db`."""
    path = uri.removeprefix(SQLITE)
    if not path:
        raise ConfigError("store: sqlite:/// needs a path (or :memory:)")
    return path


def create_store(uri: str) -> Store:
    """A Store for `uri`, not opened yet."""
    if store_kind(uri) == "sqlite":
        from flowql.storage.sqlite import SqliteStore

        return SqliteStore(sqlite_path(uri))
    from flowql.storage.mongo import MongoStore

    return MongoStore.from_uri(uri)


__all__ = ["create_store", "sqlite_path", "store_kind"]
