"""Document limits (depth, tokens, aliases) and the page size cap."""

from __future__ import annotations

from tests.api.client import Api
from tests.api.conftest import ApiFactory


async def test_depth_limit(make_api: ApiFactory) -> None:
    api = await make_api(max_depth=4)
    await api.query("{ workflows { edges { node { id } } } }")
    deep = "{ instances { edges { node { workflow { instances { edges { node { id } } } } } } } }"
    error = await api.error(deep)
    assert (
        error["extensions"]["code"] == "VALIDATION" and "exceeds maximum operation depth" in error["message"]
    )


async def test_token_limit(make_api: ApiFactory) -> None:
    api = await make_api(max_tokens=50)
    fields = " ".join(f"f{i}: serverInfo {{ version }}" for i in range(20))
    error = await api.error(f"{{ {fields} }}")
    assert error["extensions"]["code"] == "VALIDATION" and "token" in error["message"].lower()


async def test_alias_limit(api: Api) -> None:
    await api.query(" ".join(["{", *(f"a{i}: serverInfo {{ version }}" for i in range(30)), "}"]))
    error = await api.error(" ".join(["{", *(f"a{i}: serverInfo {{ version }}" for i in range(31)), "}"]))
    assert error["extensions"]["code"] == "VALIDATION" and "aliases" in error["message"]


async def test_page_size_cap(make_api: ApiFactory) -> None:
    api = await make_api(max_page_size=50)
    await api.query("{ workflows(first: 50) { edges { cursor } } }")
    error = await api.error("{ workflows(first: 51) { edges { cursor } } }")
    assert error["extensions"] == {"code": "VALIDATION", "field": "first"}
    assert "between 1 and 50" in error["message"]
