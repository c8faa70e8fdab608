"""`CreateWorkflowInput.stages: [StageInput!]!`, a typed `@oneOf` with the Formance JSON names:
JSON variables of that shape validate as they are; a misspelled kind or two kinds in one
stage is a GraphQL validation error naming it; the store keeps the Formance JSON."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api

CREATE = "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id stages } }"
STAGES: list[dict[str, Any]] = [
    {"delay": {"duration": "2s"}},
    {"delay": {"until": "2030-01-01T00:00:00Z"}},
    {"wait_event": {"event": "approved"}},
    {
        "send": {
            "source": {"account": {"id": "world", "ledger": "default", "throughAccount": "world"}},
            "destination": {"wallet": {"name": "alice", "balance": "main"}},
            "amount": {"amount": "${amount}", "asset": "USD/2"},
            "metadata": {"reason": "payout"},
            "timestamp": "2030-01-01T00:00:00Z",
        }
    },
    {
        "send": {
            "source": {"account": {"id": "bank", "allowOverdraft": True}},
            "destination": {"account": {"id": "users:${user}"}},
            "amount": {"amount": 123456789012345678901234567890, "asset": "EUR/2"},
        }
    },
    {"update": {"account": {"id": "users:42", "ledger": "default", "metadata": {"tier": "gold"}}}},
]


async def test_a_formance_json_variable_validates_and_is_stored_as_sent(api: Api) -> None:
    stored = (await api.query(CREATE, {"w": {"name": "typed", "stages": STAGES}}))["createWorkflow"]["stages"]
    expected = [dict(stage) for stage in STAGES]
    # Amounts are kept as digit strings: a JSON number past 2^53 loses digits in a browser.
    expected[4] = {
        "send": {
            **STAGES[4]["send"],
            "amount": {"amount": "123456789012345678901234567890", "asset": "EUR/2"},
        }
    }
    assert stored == expected


async def test_an_inline_literal_works_too(api: Api) -> None:
    document = """mutation { createWorkflow(input: {stages: [
      {wait_event: {event: "go"}},
      {send: {source: {account: {id: "world"}}, destination: {account: {id: "users:1"}},
              amount: {amount: 5, asset: "USD/2"}}}]}) { stages stageDefinitions { __typename } } }"""
    created = (await api.query(document))["createWorkflow"]
    assert [d["__typename"] for d in created["stageDefinitions"]] == ["WaitEventStage", "SendStage"]
    assert created["stages"][1]["send"]["amount"] == {"amount": "5", "asset": "USD/2"}


async def test_a_misspelled_kind_is_a_validation_error_naming_it(api: Api) -> None:
    error = await api.error(
        CREATE, {"w": {"stages": [{"delay": {"duration": "1s"}}, {"wait_evnt": {"event": "x"}}]}}
    )
    assert error["extensions"]["code"] == "VALIDATION"
    assert "wait_evnt" in error["message"] and "stages[1]" in error["message"]
    literal = await api.error("mutation { createWorkflow(input: {stages: [{sned: {}}]}) { id } }")
    assert literal["extensions"]["code"] == "VALIDATION" and "'sned'" in literal["message"]


async def test_two_kinds_in_one_stage_is_a_validation_error(api: Api) -> None:
    two = {"delay": {"duration": "1s"}, "wait_event": {"event": "x"}}
    error = await api.error(CREATE, {"w": {"stages": [two]}})
    assert error["extensions"]["code"] == "VALIDATION"
    assert "StageInput" in error["message"] and "exactly one" in error["message"]
    none = await api.error(CREATE, {"w": {"stages": [{}]}})
    assert none["extensions"]["code"] == "VALIDATION" and "StageInput" in none["message"]


async def test_values_are_still_checked_by_the_engine_with_their_path(api: Api) -> None:
    bad = [{"delay": {"duration": "soon"}}]
    error = await api.error(CREATE, {"w": {"stages": bad}})
    assert error["extensions"] == {"code": "VALIDATION", "field": "stages[0].delay.duration"}
    float_amount = {"send": {**STAGES[4]["send"], "amount": {"amount": 1.5, "asset": "USD/2"}}}
    error = await api.error(CREATE, {"w": {"stages": [float_amount]}})
    assert error["extensions"]["code"] == "VALIDATION" and "BigInt" in error["message"]
    nothing_stored = await api.query("{ workflows { nodes { id } } }")
    assert nothing_stored["workflows"]["nodes"] == []


async def test_a_refused_stage_names_its_path_in_extensions(api: Api) -> None:
    error = await api.error(
        CREATE, {"w": {"stages": [{"delay": {"duration": "1s"}}, {"teleport": {"to": "mars"}}]}}
    )
    assert error["extensions"] == {"code": "VALIDATION", "field": "stages[1]"}


async def test_the_noop_stage_as_formance_writes_it(api: Api) -> None:
    """Formance's `{"noop": {}}` validates as a JSON variable and inline; it runs and succeeds."""
    stages = [{"noop": {}}, {"noop": {"noop": True}}]
    created = (
        await api.query(
            "mutation($w: CreateWorkflowInput!) { createWorkflow(input: $w) { id stages "
            "stageDefinitions { __typename } } }",
            {"w": {"stages": stages}},
        )
    )["createWorkflow"]
    assert created["stages"] == [{"noop": {}}, {"noop": {}}]
    assert [d["__typename"] for d in created["stageDefinitions"]] == ["NoopStage", "NoopStage"]
    run = await api.query(
        "mutation($id: ID!) { runWorkflow(workflowID: $id, wait: true) { status stages { kind status } } }",
        {"id": created["id"]},
    )
    assert run["runWorkflow"]["status"] == "SUCCEEDED"
    assert [s["status"] for s in run["runWorkflow"]["stages"]] == ["SUCCEEDED", "SUCCEEDED"]
    inline = await api.query("mutation { createWorkflow(input: {stages: [{noop: {}}]}) { stages } }")
    assert inline["createWorkflow"]["stages"] == [{"noop": {}}]
