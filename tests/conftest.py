"""Session fixtures for the real servers the suite needs (tests/support/services.py).

Each starts on first use and stops when the session ends; a test that never asks for one
never starts it. Without the binary the test skips and says how to install it; with
`CI=true` it fails instead, so CI cannot pass by skipping the real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack

import pytest

from tests.support import services


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
