"""Session fixtures for the real servers the suite needs (tests/support/services.py).

Each starts on first use and stops when the session ends; a test that never asks for one
never starts it. Without the binary the test skips and says how to install it; with
`CI=true` it fails instead, so CI cannot pass by skipping the real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest

from tests.support import services
from tests.support.stores import BACKENDS, StoreUris


def _require(service: AbstractContextManager[str]) -> Iterator[str]:
    with ExitStack() as stack:
        try:
            url = stack.enter_context(service)
        except services.ServiceMissing as missing:
            if services.in_ci():
                pytest.fail(f"CI=true: {missing}", pytrace=False)
            pytest.skip(str(missing))
        yield url


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MongoDB server URI (no database in it): FLOWQL_TEST_MONGODB_URI or a FerretDB."""
    yield from _require(services.mongodb_uri(tmp_path_factory.mktemp("ferretdb")))


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS JetStream URL: FLOWQL_TEST_NATS_URL or a nats-server started here."""
    yield from _require(services.nats_url(tmp_path_factory.mktemp("nats")))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_stores` that use `store_uris` run once per backend."""
    if "store_uris" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("store_uris", BACKENDS, indirect=True)


@pytest.fixture
def store_uris(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUris]:
    """Fresh stores on one backend: SQLite files, or for `both_stores` tests MongoDB
    databases on the session's server too (one run per backend)."""
    kind = getattr(request, "param", "sqlite")
    server = request.getfixturevalue("mongodb_uri") if kind == "mongodb" else None
    uris = StoreUris(kind, tmp_path, server)
    try:
        yield uris
    finally:
        uris.drop()


@pytest.fixture
def store_uri(store_uris: StoreUris) -> str:
    """One fresh, empty store."""
    return store_uris.new()
