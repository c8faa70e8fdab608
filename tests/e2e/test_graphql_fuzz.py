"""GraphQL fuzzing against a running `flowql serve` over real HTTP and WebSocket.

Every document in graphql/operations gets (1) hypothesis-generated variables derived
from its variable definitions, (2) every value of the hostile corpus in each variable in
turn; the document limits and the transport get hand-made attacks; and hypothesis-graphql
writes whole documents from the schema. Each answer is judged by `fuzz.verdict`: no HTTP
5xx, no INTERNAL, every error coded VALIDATION / NOT_FOUND / CONFLICT / UNAUTHENTICATED /
FORBIDDEN, no traceback or internal detail; the server logs no error; and a rejected
request (or any read) leaves the store exactly as it was (`PRAGMA data_version`; on
MongoDB a digest of every document, fuzz/store_watch.py). Every test runs on a SQLite server
and on a MongoDB one (the session's FerretDB, or FLOWQL_TEST_MONGODB_URI).

CI runs a short version (~2 min on SQLite, 3-6 min on FerretDB on this 2-core machine).
More generated examples per operation:
    FLOWQL_TEST_FUZZ_EXAMPLES=2000 pytest tests/e2e/test_graphql_fuzz.py -m 'slow or not slow'
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis_graphql
import pytest
from graphql import (
    BooleanValueNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    parse,
    print_ast,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.e2e.fuzz import corpus
from tests.e2e.fuzz.baseline import baseline
from tests.e2e.fuzz.client import LEGACY_WS, TRANSPORT_WS, HttpClient
from tests.e2e.fuzz.documents import ATTACKS, Attack
from tests.e2e.fuzz.exchange import Fuzzer
from tests.e2e.fuzz.rawjson import dumps
from tests.e2e.fuzz.samples import make_samples
from tests.e2e.fuzz.store_watch import for_store
from tests.e2e.fuzz.strategies import load_schema, variables_for, ws_messages
from tests.e2e.live_server import LiveServer, live_server
from tests.support.stores import BACKENDS, StoreUris

OPERATIONS = sorted((Path(__file__).resolve().parents[2] / "graphql" / "operations").glob("*.graphql"))
EXAMPLES = int(os.environ.get("FLOWQL_TEST_FUZZ_EXAMPLES", "20"))
LONG = "FLOWQL_TEST_FUZZ_EXAMPLES" in os.environ
SCHEMA = load_schema()
pytestmark = pytest.mark.timeout(3600 if LONG else 300)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # CI: the same examples every run; long runs explore
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per backend: a SQLite file, then a database on the session's MongoDB server."""
    workdir = tmp_path_factory.mktemp("fuzz")
    uris = StoreUris(
        request.param, workdir, request.getfixturevalue("mongodb_uri") if request.param == "mongodb" else None
    )
    try:
        # runWorkflow(wait: true) on a workflow that waits for an event gives up after 0.2 s.
        # The MongoDB watcher digests every document (store_watch.py): a lease heartbeat
        # (every lease_ttl / 3 on a shared store) rewrites the lease and would pass for a
        # write by the request under test, so the replica's lease lasts an hour.
        flags = ("--run-timeout", "0.2", "--lease-ttl", "3600")
        with live_server(workdir, *flags, store=uris.new()) as running:
            yield running
    finally:
        uris.drop()


@pytest.fixture
def fuzzer(server: LiveServer) -> Iterator[Fuzzer]:
    client = HttpClient(server.port)
    watch = for_store(server.store, server.db)
    server.new_log_lines()
    try:
        yield Fuzzer(server, client, watch)
    finally:
        client.close()
        watch.close()
    assert server.alive, "the server died"


def operation_of(path: Path) -> tuple[str, OperationDefinitionNode]:
    text = path.read_text(encoding="utf-8")
    (operation,) = parse(text).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return text, operation


def report(problems: list[str], document: str, variables: object) -> str:
    shown = repr(variables)
    return "\n".join([*problems, f"document: {document[:300]}", f"variables: {shown[:1500]}"])


def test_the_store_watch_sees_writes(fuzzer: Fuzzer) -> None:
    """The store check is not vacuous: an accepted mutation moves the data version."""
    before = fuzzer.watch.version()
    fuzzer.client.data('mutation { createWallet(name: "watch-check") { id } }')
    assert fuzzer.watch.version() != before


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_generated_variables(fuzzer: Fuzzer, path: Path) -> None:
    text, operation = operation_of(path)
    samples = make_samples(fuzzer.client)

    @FUZZ_SETTINGS
    @given(variables=variables_for(SCHEMA, samples, operation))
    def exchange(variables: object) -> None:
        problems = fuzzer.exchange(text, operation.operation, variables)
        assert not problems, report(problems, text, variables)

    exchange()


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_corpus_in_every_variable(fuzzer: Fuzzer, path: Path) -> None:
    """Each hostile value in each variable in turn, the others well formed."""
    text, operation = operation_of(path)
    good = baseline(make_samples(fuzzer.client))
    names = [d.variable.name.value for d in operation.variable_definitions or ()]
    failures: list[str] = []
    for name in names:
        extra = corpus.CURSORS if name == "after" else []
        for value in [*corpus.ALL, *extra]:
            variables = {n: good[n] for n in names} | {name: value}
            problems = fuzzer.exchange(text, operation.operation, variables)
            if problems:
                failures.append(report(problems, text, {name: value}))
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:15])


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_document_attacks(fuzzer: Fuzzer, attack: Attack) -> None:
    reply_problems = fuzzer.raw(attack.body, content_type=attack.content_type)
    assert not reply_problems, reply_problems
    if attack.refusal is not None:
        reply = fuzzer.client.post(attack.body, content_type=attack.content_type)
        messages = " | ".join(str(e.get("message")) for e in reply.errors)
        assert attack.refusal.lower() in messages.lower(), (
            f"expected a refusal about {attack.refusal!r}: {reply.text[:500]}"
        )


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_operation_alias_bomb(fuzzer: Fuzzer, path: Path) -> None:
    """Each operation's root field repeated under 200 aliases: refused by the alias limit."""
    text, operation = operation_of(path)
    root = operation.selection_set.selections[0]
    body = " ".join(f"a{i}: {print_ast(root)}" for i in range(200))
    header = text[
        text.index(operation.operation.value) : text.index("{", text.index(operation.operation.value))
    ]
    document = f"{header} {{ {body} }}"
    good = baseline(make_samples(fuzzer.client))
    variables = {
        d.variable.name.value: good[d.variable.name.value] for d in operation.variable_definitions or ()
    }
    problems = fuzzer.exchange(document, operation.operation, variables)
    assert not problems, report(problems, document, variables)


def _literal(strategy: st.SearchStrategy[Any], node: type) -> st.SearchStrategy[Any]:
    return strategy.map(lambda value: node(value=value))


CUSTOM_SCALARS = {
    "JSON": _literal(st.text(max_size=20), StringValueNode) | _literal(st.booleans(), BooleanValueNode),
    "BigInt": _literal(st.integers().map(str), IntValueNode)
    | _literal(st.text(max_size=10), StringValueNode),
    "DateTime": _literal(st.sampled_from(corpus.TIMES), StringValueNode),
}


def test_generated_documents(fuzzer: Fuzzer) -> None:
    """Whole documents from the schema (hypothesis-graphql): any field, any literal argument."""
    sdl = (Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql").read_text(encoding="utf-8")
    strategy = hypothesis_graphql.from_schema(sdl, custom_scalars=CUSTOM_SCALARS)

    @FUZZ_SETTINGS
    @given(document=strategy)
    def exchange(document: str) -> None:
        kind = parse(document).definitions[0]
        assert isinstance(kind, OperationDefinitionNode)
        problems = fuzzer.exchange(document, kind.operation, None)
        # Generated mutations may succeed; only the answer is judged, not the store.
        if kind.operation is OperationType.MUTATION:
            problems = [p for p in problems if not p.startswith("store changed")]
        assert not problems, report(problems, document, None)

    exchange()


@pytest.mark.parametrize("path", [p for p in OPERATIONS if "query " in p.read_text()], ids=lambda p: p.stem)
def test_queries_over_get(fuzzer: Fuzzer, path: Path) -> None:
    text, operation = operation_of(path)
    samples = make_samples(fuzzer.client)

    @FUZZ_SETTINGS
    @given(variables=variables_for(SCHEMA, samples, operation))
    def exchange(variables: object) -> None:
        # aiohttp's HTTP parser refuses request lines over 8 KiB itself (text/plain 400).
        assume(len(urllib.parse.urlencode({"query": text, "variables": dumps(variables)})) < 8000)
        problems = fuzzer.get(text, variables)
        assert not problems, report(problems, text, variables)

    exchange()


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
def test_websocket_messages(fuzzer: Fuzzer, protocol: str) -> None:
    """Raw protocol messages: hostile ids, types, payloads, documents and variables."""
    documents = [operation_of(path)[0] for path in OPERATIONS]

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES * 3)
    @given(messages=ws_messages(documents))
    def exchange(messages: list[str]) -> None:
        problems = fuzzer.websocket(messages, protocol)
        assert not problems, report(problems, "(raw messages)", messages)

    exchange()
