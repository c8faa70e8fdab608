"""A slow CEL filter holds up no other trigger, and is counted (issue #14 item 10), over
real HTTP: the trivial trigger of the same event starts its run, the slow filter times out
(its worker is killed), and `/metrics` counts the timeout and the skipped event."""

from __future__ import annotations

from tests.api.conftest import ApiFactory
from tests.api.test_executor_bounds import metric

WORKFLOW = 'mutation { createWorkflow(input: {stages: [{wait_event: {event: "go"}}]}) { id } }'
TRIGGER = """mutation T($w: ID!, $f: String) {
  createTrigger(input: {event: "DEPOSIT", workflowID: $w, filter: $f}) { id } }"""
PUBLISH = """mutation P($p: JSON) {
  publishEvent(type: "DEPOSIT", payload: $p) { triggerID workflowInstanceID error } }"""
SLOW = "event.l.all(x, event.l.all(y, x + y >= 0))"


async def test_a_slow_filter_is_bounded_counted_and_holds_up_no_one(make_api: ApiFactory) -> None:
    api = await make_api()
    workflow = (await api.query(WORKFLOW))["createWorkflow"]["id"]
    await api.query(TRIGGER, {"w": workflow, "f": SLOW})
    trivial = (await api.query(TRIGGER, {"w": workflow, "f": "event.user == 'u1'"}))["createTrigger"]["id"]
    answer = await api.query(PUBLISH, {"p": {"user": "u1", "l": list(range(20_000))}})
    [occurrence] = answer["publishEvent"]
    assert occurrence["triggerID"] == trivial and occurrence["error"] is None
    assert occurrence["workflowInstanceID"] is not None
    assert await metric(api, 'flowql_cel_evaluations_refused_total{reason="timeout"}') == 1.0
    assert await metric(api, "flowql_trigger_filter_errors_total") == 1.0
