from __future__ import annotations

import pytest

from tests.api.client import Api
from tests.support.stores import StoreUris

pytestmark = pytest.mark.both_stores


async def test_server_info(api: Api, store_uris: StoreUris) -> None:
    data = await api.query("{ serverInfo { version store } }")
    assert data["serverInfo"]["store"] == store_uris.kind
