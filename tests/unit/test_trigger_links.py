"""`link(event, "rel")` in trigger filters and vars, as Formance's `internal/triggers/expression.go`:
the one link of `event.links` named `rel`, its resource's `data`. Formance's own cases
(trigger_test.go "using links", docs/triggers.md), then flowql's resolution: an allowed
origin over HTTP, else the embedded ledger's accounts and wallets by Formance's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from flowql.engine.cel import compile_expression
from flowql.engine.errors import FlowqlError
from flowql.engine.models import EventMessage, Workflow
from flowql.engine.pagination import PageRequest
from flowql.engine.runtime import Engine
from flowql.engine.triggers import TriggerService
from flowql.link_fetch import HttpLinks
from tests.unit.conftest import EngineFactory

STAGES = [{"noop": {}}]
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def resources(aiohttp_server: ServerFactory) -> tuple[TestServer, list[str]]:
    """Formance's test server answers `{"data": {"role": "admin"}}`; `/missing` is 404,
    `/moved` a redirect, `/list` a non-object `data`. Paths asked are recorded."""
    asked: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        asked.append(request.path)
        if request.path == "/missing":
            return web.json_response({"errorCode": "NOT_FOUND"}, status=404)
        if request.path == "/moved":
            raise web.HTTPFound("http://169.254.169.254/")
        if request.path == "/list":
            return web.json_response({"data": [1, 2]})
        return web.json_response({"data": {"role": "admin", "items": [1, 5, 9]}})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return await aiohttp_server(app), asked


@pytest.fixture
async def linked(
    make_engine: EngineFactory, resources: tuple[TestServer, list[str]]
) -> AsyncIterator[Engine]:
    server, _ = resources
    fetcher = HttpLinks([str(server.make_url("/")).rstrip("/")])
    yield await make_engine(link_fetcher=fetcher)
    await fetcher.close()


def uri(server: TestServer, path: str = "/accounts/acc_456") -> str:
    return str(server.make_url(path))


async def workflow(engine: Engine) -> Workflow:
    return await engine.orchestration.create_workflow(name="linked", stages=STAGES)


async def test_formances_using_links_case(linked: Engine, resources: tuple[TestServer, list[str]]) -> None:
    server, asked = resources
    triggers = linked.triggers
    trigger = await triggers.create_trigger(
        name="t",
        event="E",
        workflow_id=(await workflow(linked)).id,
        vars={"role": 'link(event, "source_account").role'},
    )
    payload = {"id": "evt_123", "links": [{"name": "source_account", "uri": uri(server)}]}
    result = await triggers.test_trigger(trigger.id, payload)
    assert {k: (v.value, v.error) for k, v in result.variables.items()} == {"role": ("admin", None)}
    [occurrence] = await triggers.publish(EventMessage(type="E", payload=payload, id="e1"))
    assert occurrence.error is None and occurrence.workflow_instance_id is not None
    instance = await linked.orchestration.get_instance(occurrence.workflow_instance_id)
    assert instance.variables == {"role": "admin"}
    assert asked == ["/accounts/acc_456", "/accounts/acc_456"]  # once per evaluated event


async def test_one_fetch_per_uri_and_event_for_filter_and_vars(
    linked: Engine, resources: tuple[TestServer, list[str]]
) -> None:
    server, asked = resources
    trigger = await linked.triggers.create_trigger(
        name="t",
        event="E",
        workflow_id=(await workflow(linked)).id,
        filter='link(event, "a").role == "admin" and link(event, "a").items.exists(i, i > 8)',
        vars={"role": 'link(event, "a").role', "first": 'link(event, "a").items[0]'},
    )
    payload = {"links": [{"name": "a", "uri": uri(server)}]}
    result = await linked.triggers.test_trigger(trigger.id, payload)
    assert (result.match, result.error) == (True, None)  # the comprehension ran in the sandbox
    assert {k: v.value for k, v in result.variables.items()} == {"role": "admin", "first": "1"}
    assert asked == ["/accounts/acc_456"]


async def test_a_missing_key_of_a_linked_resource_is_nil(
    linked: Engine, resources: tuple[TestServer, list[str]]
) -> None:
    server, _ = resources
    payload = {"links": [{"name": "a", "uri": uri(server)}]}
    trigger = await linked.triggers.create_trigger(
        name="t", event="E", workflow_id=(await workflow(linked)).id, filter='link(event, "a").missing == nil'
    )
    assert (await linked.triggers.test_trigger(trigger.id, payload)).match is True


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ([], "link 'a' not defined for object"),
        ([{"name": "b", "uri": "x"}], "link 'a' not defined for object"),
        (
            [{"name": "a", "uri": "PATH:/x"}, {"name": "a", "uri": "PATH:/y"}],
            "multiple link 'a' found for object",
        ),
        ([{"name": "a", "uri": "PATH:/missing"}], "unexpected status code when reading resource: 404"),
        ([{"name": "a", "uri": "PATH:/moved"}], "unexpected status code when reading resource: 302"),
        ([{"name": "a", "uri": "PATH:/list"}], "decoding response: no `data` object"),
        ([{"name": "a", "uri": "https://elsewhere.example/x"}], "not on an allowed origin (--link-origin)"),
    ],
)
async def test_links_that_cannot_be_followed_are_the_expressions_error(
    linked: Engine, resources: tuple[TestServer, list[str]], links: list[dict[str, str]], message: str
) -> None:
    server, _ = resources
    for link in links:
        if link["uri"].startswith("PATH:"):
            link["uri"] = uri(server, link["uri"].removeprefix("PATH:"))
    trigger = await linked.triggers.create_trigger(
        name="t",
        event="E",
        workflow_id=(await workflow(linked)).id,
        filter='link(event, "a").role == "admin"',
        vars={"role": 'link(event, "a").role'},
    )
    result = await linked.triggers.test_trigger(trigger.id, {"links": links})
    assert result.match is False and result.error is not None and message in result.error
    # a filter that fails skips the event (Formance logs it); a var that fails is an occurrence error
    assert await linked.triggers.publish(EventMessage(type="E", payload={"links": links}, id="e1")) == []
    plain = await linked.triggers.create_trigger(
        name="v", event="V", workflow_id=(await workflow(linked)).id, vars={"role": 'link(event, "a").role'}
    )
    [occurrence] = await linked.triggers.publish(EventMessage(type="V", payload={"links": links}, id="e2"))
    assert occurrence.error == f"vars.role: {result.error}"
    assert (await linked.triggers.list_occurrences(plain.id, PageRequest())).items == [occurrence]


async def test_an_unneeded_link_is_no_error(linked: Engine) -> None:
    trigger = await linked.triggers.create_trigger(
        name="t",
        event="E",
        workflow_id=(await workflow(linked)).id,
        filter='event.kind == "review" and link(event, "a").role == "admin"',
        vars={"who": 'event.kind == "review" ? link(event, "a").role : "nobody"'},
    )
    result = await linked.triggers.test_trigger(trigger.id, {"kind": "other"})
    assert (result.match, result.error) == (False, None)
    await linked.triggers.delete_trigger(trigger.id)
    plain = await linked.triggers.create_trigger(
        name="v",
        event="E",
        workflow_id=(await workflow(linked)).id,
        vars={"who": 'event.kind == "review" ? link(event, "a").role : "nobody"'},
    )
    result = await linked.triggers.test_trigger(plain.id, {"kind": "other"})
    assert {k: (v.value, v.error) for k, v in result.variables.items()} == {"who": ("nobody", None)}


async def test_links_to_the_embedded_ledger_resolve_without_a_fetch(engine: Engine) -> None:
    """Formance's services link their own resources; flowql is the ledger and the wallets
    service here, so their routes resolve against the embedded ledger, whatever the host."""
    await engine.ledger.add_metadata("default", "users:1", {"role": "admin"})
    wallet = await engine.ledger.create_wallet("alice", "default", {"tier": "gold"})
    run = await engine.orchestration.create_workflow(
        name="fund",
        stages=[
            {
                "send": {
                    "source": {"account": {"id": "world"}},
                    "destination": {"wallet": {"id": wallet.id}},
                    "amount": {"amount": 250, "asset": "USD/2"},
                }
            }
        ],
    )
    await engine.orchestration.run_workflow(run.id, {}, wait=True, timeout=5.0)
    triggers: TriggerService = engine.triggers
    trigger = await triggers.create_trigger(
        name="t",
        event="SAVED_PAYMENT",
        workflow_id=(await workflow(engine)).id,
        filter='link(event, "account").metadata.role == "admin"',
        vars={
            "v1": 'link(event, "v1").metadata.role',
            "tier": 'link(event, "wallet").metadata.tier',
            "held": 'link(event, "wallet").balances.main.assets["USD/2"]',
            "unknown": 'link(event, "nobody").id',
        },
    )
    payload = {
        "id": "pay_1",
        "links": [
            {"name": "account", "uri": "https://stack.example/api/ledger/v2/default/accounts/users:1"},
            {"name": "v1", "uri": "https://stack.example/api/ledger/default/accounts/users%3A1"},
            {"name": "wallet", "uri": f"https://stack.example/api/wallets/wallets/{wallet.id}"},
            {"name": "nobody", "uri": f"https://stack.example/api/wallets/wallets/{wallet.id[:-1]}0"},
        ],
    }
    result = await triggers.test_trigger(trigger.id, payload)
    assert (result.match, result.error) == (True, None)
    assert {k: (v.value, v.error) for k, v in result.variables.items()} == {
        "v1": ("admin", None),
        "tier": ("gold", None),
        "held": ("250", None),
        "unknown": (None, "unexpected status code when reading resource: 404"),
    }


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("link(event, event.rel).a", "1:13", "the relation must be a string literal"),
        ("link(event)", "1:11", "expected ','"),
        ('event.items.exists(i, link(i, "a").ok)', "1:23", "cannot be used inside a comprehension"),
        (" or ".join(['link(event, "a").ok'] * 9), "1:", "at most 8 link() calls"),
    ],
)
def test_bad_links_are_refused_at_create(source: str, position: str, message: str) -> None:
    with pytest.raises(FlowqlError) as caught:
        compile_expression("filter", source)
    assert caught.value.message.startswith(f"filter: {position}")
    assert message in caught.value.message


def test_link_origins_from_flags_and_environment() -> None:
    from flowql.cli import build_parser, config_from
    from flowql.config import Config, ConfigError

    config = Config.from_env({"FLOWQL_LINK_ORIGINS": "http://127.0.0.1:8081  HTTPS://Stack.Example.com:443/"})
    assert config.link_origins == ("http://127.0.0.1:8081", "https://stack.example.com")
    args = build_parser().parse_args(
        ["serve", "--link-origin", "https://a.example", "--link-origin", "http://b:9"]
    )
    assert config_from(args).link_origins == ("https://a.example", "http://b:9")
    with pytest.raises(ConfigError, match="link_origins"):
        Config.from_env({"FLOWQL_LINK_ORIGINS": "https://a.example/api/ledger"})
    fetcher = HttpLinks(Config.from_env({"FLOWQL_LINK_ORIGINS": "https://a.example"}).link_origins)
    assert fetcher.accepts("https://a.example/api/x?y=1") and fetcher.accepts("https://A.example:443/x")
    assert not fetcher.accepts("https://a.example:8443/x") and not fetcher.accepts("http://a.example/x")
    assert not fetcher.accepts("https://user@a.example/x") and not fetcher.accepts("file:///etc/passwd")
