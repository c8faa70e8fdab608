"""Automatic persisted queries (Apollo's protocol) and trusted documents, over real HTTP and
WebSocket."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from gql import gql

from flowql.cli import main
from tests.api.client import Api
from tests.api.conftest import ApiFactory

QUERY = "query Version { serverInfo { version } }"
OTHER = "query Store { serverInfo { store } }"


def digest(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest(document)}}


async def post(api: Api, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with api.session.post(api.url / "graphql", json=body) as resp:
        return resp.status, await resp.json()


async def get(api: Api, document_hash: str, **params: str) -> tuple[int, dict[str, Any]]:
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": document_hash}})
    async with api.session.get(
        api.url / "graphql",
        params={"extensions": extensions, **params},
        headers={"Accept": "application/json"},
    ) as resp:
        return resp.status, await resp.json()


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_the_apollo_round_trip_over_post_and_get(api: Api) -> None:
    status, body = await post(api, {"extensions": persisted(QUERY)})
    assert status == 200 and code(body) == "PERSISTED_QUERY_NOT_FOUND"
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo's link also matches
    status, body = await post(api, {"query": QUERY, "extensions": persisted(QUERY)})
    assert status == 200 and body["data"]["serverInfo"]["version"]
    status, body = await post(api, {"extensions": persisted(QUERY), "operationName": "Version"})
    assert status == 200 and body["data"]["serverInfo"]["version"]
    status, body = await get(api, digest(QUERY))
    assert status == 200 and body["data"]["serverInfo"]["version"]
    with_variables = "query One($id: ID!) { node(id: $id) { id } }"
    await post(api, {"query": with_variables, "extensions": persisted(with_variables)})
    status, body = await get(api, digest(with_variables), variables=json.dumps({"id": "nothing"}))
    assert status == 200 and body == {"data": {"node": None}}


async def test_a_hash_that_does_not_match_its_query_is_refused(api: Api) -> None:
    status, body = await post(api, {"query": OTHER, "extensions": persisted(QUERY)})
    assert status == 400 and code(body) == "VALIDATION" and "does not match" in body["errors"][0]["message"]
    status, body = await post(api, {"extensions": persisted(QUERY)})
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"  # nothing was remembered
    bad_version = {"persistedQuery": {"version": 2, "sha256Hash": digest(QUERY)}}
    status, body = await post(api, {"query": QUERY, "extensions": bad_version})
    assert status == 400 and code(body) == "VALIDATION"
    for junk in ("x", [], {"version": 1}, {"version": 1, "sha256Hash": 5}):
        status, body = await post(api, {"query": QUERY, "extensions": {"persistedQuery": junk}})
        assert status == 400 and code(body) == "VALIDATION", junk


async def test_the_cache_is_bounded(make_api: ApiFactory) -> None:
    api = await make_api(apq_cache_size=2)
    documents = [f"query Q{n} {{ serverInfo {{ version }} }}" for n in range(3)]
    for document in documents:
        status, _ = await post(api, {"query": document, "extensions": persisted(document)})
        assert status == 200
    assert len(api.app_state.view.persisted) == 2
    _, oldest = await post(api, {"extensions": persisted(documents[0])})
    assert code(oldest) == "PERSISTED_QUERY_NOT_FOUND"
    _, newest = await post(api, {"extensions": persisted(documents[2])})
    assert newest["data"]["serverInfo"]["version"]


async def test_apq_turned_off_says_not_supported(make_api: ApiFactory) -> None:
    api = await make_api(apq_cache_size=0)
    status, body = await post(api, {"extensions": persisted(QUERY)})
    assert status == 200 and code(body) == "PERSISTED_QUERY_NOT_SUPPORTED"
    status, body = await post(api, {"query": QUERY})
    assert body["data"]["serverInfo"]["version"]


SUBSCRIPTION = "subscription Changes { instanceChanges { id } }"


@pytest.mark.parametrize("form", ["codegen", "apollo"])
async def test_trusted_documents_run_alone(make_api: ApiFactory, tmp_path: Path, form: str) -> None:
    manifest = tmp_path / "persisted-documents.json"
    documents = [QUERY, SUBSCRIPTION]
    if form == "codegen":
        manifest.write_text(json.dumps({digest(d): d for d in documents}))
    else:
        operations = [{"id": digest(d), "name": "x", "type": "query", "body": d} for d in documents]
        manifest.write_text(
            json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})
        )
    api = await make_api(trusted_documents=str(manifest))
    status, body = await post(api, {"extensions": persisted(QUERY)})
    assert status == 200 and body["data"]["serverInfo"]["version"]
    status, body = await get(api, digest(QUERY))
    assert body["data"]["serverInfo"]["version"]
    status, body = await post(api, {"query": QUERY})
    assert body["data"]["serverInfo"]["version"]
    status, body = await post(api, {"query": OTHER})
    assert code(body) == "FORBIDDEN" and body["data"] is None
    status, body = await post(api, {"query": OTHER, "extensions": persisted(OTHER)})  # no registering
    assert code(body) == "FORBIDDEN"
    status, body = await post(api, {"extensions": persisted(OTHER)})
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"
    async with api.ws() as session:
        with pytest.raises(Exception, match=r"FORBIDDEN|trusted"):
            async for _ in session.subscribe(gql("subscription Other { instanceChanges { status } }")):
                pass
        untrusted = await session.execute(gql(QUERY))  # a trusted query over the WebSocket runs
        assert untrusted["serverInfo"]["version"]


def test_a_bad_manifest_stops_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for content, expected in (
        ("{", "not a JSON manifest"),
        ("[]", "hash -> document"),
        ("{}", "no documents"),
    ):
        manifest = tmp_path / "m.json"
        manifest.write_text(content)
        assert main(["serve", "--trusted-documents", str(manifest)]) == 2
        error = capsys.readouterr().err
        assert expected in error and "Traceback" not in error
    assert main(["serve", "--trusted-documents", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
