"""Store URIs for tests that run on every backend: a fresh SQLite file or MongoDB database.

`StoreUris.new()` hands out a new, empty store each call (`sqlite:///tmp/.../flowql-N.db`
or `mongodb://host:port/flowql_test_<random>`); `drop()` removes the MongoDB databases it
handed out. The `store_uris` / `store_uri` fixtures in tests/conftest.py give SQLite, and
both `sqlite` and `mongodb` (the FerretDB the session started, or FLOWQL_TEST_MONGODB_URI)
to tests marked `both_stores`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .mongo import database_name, with_database

BACKENDS = ["sqlite", "mongodb"]


class StoreUris:
    def __init__(self, kind: str, workdir: Path, mongodb_server: str | None = None) -> None:
        if kind == "mongodb" and mongodb_server is None:
            raise ValueError("mongodb needs a server URI")
        self.kind = kind
        self._workdir = workdir
        self._server = mongodb_server
        self._databases: list[str] = []
        self._files = 0

    def new(self) -> str:
        if self._server is None:
            self._files += 1
            return f"sqlite:///{self._workdir / f'flowql-{self._files}.db'}"
        name = database_name()
        self._databases.append(name)
        return with_database(self._server, name)

    def drop(self) -> None:
        """Synchronous, so that sync fixtures (a server in a thread) can call it too."""
        if self._server is None or not self._databases:
            return
        from pymongo import MongoClient

        client: MongoClient[dict[str, Any]] = MongoClient(self._server)
        try:
            for name in self._databases:
                client.drop_database(name)
        finally:
            client.close()


@contextmanager
def bench_store(store: str, workdir: Path) -> Iterator[str]:
    """A store URI for a benchmark run, cleaned up afterwards: `sqlite` (a file in `workdir`),
    `ferretdb` (a FerretDB started here), `sqlite:///path` as given, or a `mongodb://` server
    (a fresh database on it, dropped afterwards)."""
    from .services import ferretdb

    if store == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    if store.startswith("sqlite:///"):
        yield store
        return
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ferretdb(workdir / "ferretdb")).url if store == "ferretdb" else store
        uris = StoreUris("mongodb", workdir, server)
        stack.callback(uris.drop)
        yield uris.new()
