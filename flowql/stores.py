"""Pick a Store from a URI: `sqlite:///path`, `sqlite:///:memory:`, `mongodb://...`; open it
at start-up within a bounded time, or fail with one line that says what is wrong.

Drivers are imported only when their scheme is used (no pymongo import for SQLite).
`open_store` turns every start-up failure into `StoreStartupError`, whose message is one
line naming the store (host:port with the password redacted, or the SQLite path): an
unreachable or silent MongoDB (after `timeout` seconds), a refused login, a SQLite file in
a missing directory, a path that is no file, a file that is not a database or fails
`PRAGMA quick_check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from flowql.engine.errors import StartRefused, register_unavailable
from flowql.engine.replicas import LeaseStore
from flowql.engine.store import Store

from .config import ConfigError

if TYPE_CHECKING:
    from flowql.storage.mongo import MongoStore

SQLITE = "sqlite:///"
MONGODB = ("mongodb://", "mongodb+srv://")
DEFAULT_TIMEOUT = 10.0


class StoreStartupError(Exception):
    """The store could not be opened; the message is one line for the operator."""


def store_kind(uri: str) -> str:
    if uri.startswith(SQLITE):
        return "sqlite"
    if uri.startswith(MONGODB):
        return "mongodb"
    raise ConfigError(f"store: expected sqlite:///path or mongodb://host/db, got {redact(uri)!r}")


def sqlite_path(uri: str) -> str:
    """`sqlite:///./flowql.db` -> `./flowql.db`, `sqlite:////abs.db` -> `/abs.db`."""
    path = uri.removeprefix(SQLITE)
    if not path:
        raise ConfigError("store: sqlite:/// needs a path (or :memory:)")
    return path


def redact(uri: str) -> str:
    """The URI with its password replaced by `***` (user names stay: they help)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


def mongo_hosts(uri: str) -> str:
    """`host:port[,host:port]` of a MongoDB URI (27017 when none is given)."""
    hosts = urlsplit(uri).netloc.rpartition("@")[2]
    if uri.startswith("mongodb+srv://"):
        return hosts
    return ",".join(h if ":" in h.rsplit("]", 1)[-1] else f"{h}:27017" for h in hosts.split(",") if h)


def single_host_file(uri: str) -> str | None:
    """The SQLite file a server on `uri` must hold alone; None for MongoDB and `:memory:`."""
    if store_kind(uri) != "sqlite":
        return None
    path = sqlite_path(uri)
    return None if path == ":memory:" or path.startswith("file:") else path


def lease_store(store: Store) -> LeaseStore | None:
    """The store itself when several replicas may share it (MongoDB), None when it is
    single-host (SQLite, or a store a test wrapped)."""
    mongo = sys.modules.get("flowql.storage.mongo")  # not imported: the store is not MongoDB
    if mongo is None or not isinstance(store, mongo.MongoStore):
        return None
    leases: LeaseStore = store
    return leases


def create_store(uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> Store:
    """A Store for `uri`, not opened yet; a MongoDB client gives up on a server after `timeout`."""
    if store_kind(uri) == "sqlite":
        from flowql.storage.sqlite import SqliteStore

        return SqliteStore(sqlite_path(uri))
    return _mongo_store(uri, timeout)


def _mongo_store(uri: str, timeout: float) -> MongoStore:
    from pymongo import AsyncMongoClient
    from pymongo.errors import ConfigurationError, ConnectionFailure, InvalidURI

    from flowql.storage.mongo import DEFAULT_DATABASE, MongoStore

    # A server that went away (AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError)
    # answers requests UNAVAILABLE / HTTP 503 until it is back; pymongo reconnects by itself.
    register_unavailable(ConnectionFailure)
    millis = max(1, int(timeout * 1000))
    try:
        client: AsyncMongoClient[Any] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis
        )
    except (InvalidURI, ConfigurationError) as error:
        raise ConfigError(f"store: {redact(uri)}: {error}") from None
    return MongoStore(database=client.get_default_database(DEFAULT_DATABASE), client=client)


async def open_store(store: Store, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """`store.open()`, after checking that the store is there and sound; raises
    StoreStartupError (and closes the store) instead of anything else."""
    try:
        if store_kind(uri) == "sqlite":
            check_sqlite_file(sqlite_path(uri))
        else:
            await _ping_mongo(store, uri, timeout)
        await store.open()
    except (StoreStartupError, StartRefused):  # StartRefused: a schema newer than ours
        await _close_quietly(store)
        raise
    except Exception as error:
        await _close_quietly(store)
        raise StoreStartupError(_describe(error, uri, timeout)) from None


def check_sqlite_file(path: str) -> None:
    """The directory exists; an existing file is a SQLite database that passes quick_check."""
    if path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if not file.parent.is_dir():
        raise StoreStartupError(f"store: directory {file.parent} of SQLite file {file} does not exist")
    if not file.exists():
        return  # a new store
    if not file.is_file():
        raise StoreStartupError(f"store: SQLite path {file} is not a file")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as error:
        raise StoreStartupError(f"store: SQLite file {file} cannot be read: {error}") from None
    problems = [line for row in rows if row and row[0] != "ok" for line in str(row[0]).splitlines()]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreStartupError(f"store: SQLite file {file} is corrupt: {problems[0]}{more}")


async def store_reachable(store: Store, *, timeout: float) -> bool:
    """Does the store answer now (for /readyz)? A MongoDB `ping` within `timeout`; an open
    SQLite file always does."""
    database = getattr(store, "database", None)  # MongoStore's (a test's proxy forwards it)
    if database is None:
        return True
    try:
        async with asyncio.timeout(timeout):
            await database.command("ping")
    except Exception:
        return False
    return True


async def _ping_mongo(store: Store, uri: str, timeout: float) -> None:
    database = getattr(store, "database", None)
    if database is None:  # a wrapped store (tests): its own open() will tell
        return
    try:
        # The driver's own server-selection timeout (`timeout`) says why; this one catches a
        # server that accepts connections and never answers.
        async with asyncio.timeout(timeout + 1.0):
            await database.command("ping")
    except TimeoutError:
        raise StoreStartupError(
            f"store: MongoDB at {mongo_hosts(uri)} did not answer within {timeout:g} s ({redact(uri)})"
        ) from None


def _describe(error: Exception, uri: str, timeout: float) -> str:
    if isinstance(error, sqlite3.Error):
        return f"store: SQLite file {sqlite_path(uri)}: {error}"
    if store_kind(uri) == "mongodb":
        from pymongo.errors import ConnectionFailure, OperationFailure

        where = f"MongoDB at {mongo_hosts(uri)}"
        if isinstance(error, ConnectionFailure):
            reason = str(error).split(" (configured timeouts")[0].split(", Timeout:")[0][:200]
            return f"store: cannot reach {where} within {timeout:g} s ({redact(uri)}): {reason}"
        if isinstance(error, OperationFailure):
            message = str((error.details or {}).get("errmsg") or error).splitlines()[0]
            return f"store: {where} refused: {message} ({redact(uri)})"
        return f"store: {where}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return f"store: {type(error).__name__}: {error}"


async def _close_quietly(store: Store) -> None:
    with contextlib.suppress(Exception):
        await store.close()


__all__ = [
    "DEFAULT_TIMEOUT",
    "StoreStartupError",
    "check_sqlite_file",
    "create_store",
    "lease_store",
    "mongo_hosts",
    "open_store",
    "redact",
    "single_host_file",
    "sqlite_path",
    "store_kind",
    "store_reachable",
]
