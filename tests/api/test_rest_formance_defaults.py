"""Defaults and variables as Formance (internal/schema/map.go, stages/send, stages/update):
a missing `${var}` reads as "" and the field's default applies; update's ledger is `main`,
send's `default`; cross-ledger sends bridge through `throughAccount` with Formance's
metadata; the `noop` stage; amounts as Formance reads them."""

from __future__ import annotations

from typing import Any

from tests.api.formance_server import account, create, run, send, stage_history, terminated
from tests.api.formance_server import formance as formance  # the fixture
from tests.api.rest_server import RestServer


def postings_of(activity: Any) -> tuple[str | None, list[tuple[str, str, int]], dict[str, str]]:
    tx = activity.input.create_transaction
    postings = [(p.source, p.destination, p.amount) for p in tx.data.postings]
    return tx.ledger, postings, dict(tx.data.metadata or {})


def test_a_missing_variable_falls_back_to_the_fields_default(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    stage = send(
        account("world", ledger="${l}"), account("bank", ledger="${l}"), 100, metadata={"foo": "${userID}"}
    )
    stage["send"]["timestamp"] = "${timestamp}"
    instance_id = run(v2, create(v2, stage))
    assert terminated(v2, instance_id).error is None
    [activity] = stage_history(v2, instance_id)
    assert postings_of(activity) == ("default", [("world", "bank", 100)], {"foo": ""})


def test_update_defaults_to_the_main_ledger(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    update = {"update": {"account": {"id": "users:1", "metadata": {"tier": "gold"}}}}
    instance_id = run(v2, create(v2, update))
    assert terminated(v2, instance_id).error is None
    [activity] = stage_history(v2, instance_id)
    assert activity.name == "AddAccountMetadata"
    metadata = activity.input.add_account_metadata
    assert metadata.ledger == "main" and metadata.id == "users:1" and metadata.metadata == {"tier": "gold"}


def test_cross_ledger_sends_bridge_through_world(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    funded = run(v2, create(v2, send(account("world", ledger="a"), account("users:1", ledger="a"), 100)))
    assert terminated(v2, funded).error is None
    instance_id = run(
        v2, create(v2, send(account("users:1", ledger="a"), account("users:2", ledger="b"), 40))
    )
    assert terminated(v2, instance_id).error is None
    out, into = stage_history(v2, instance_id)
    assert out.name == into.name == "CreateTransaction"
    assert postings_of(out) == ("a", [("users:1", "world", 40)], {"orchestration/move-to-ledger": "b"})
    assert postings_of(into) == ("b", [("world", "users:2", 40)], {"orchestration/move-from-ledger": "a"})


def test_through_accounts_and_overdraft_on_a_cross_ledger_send(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    source = account("users:1", ledger="a", throughAccount="bank:out", allowOverdraft=True)
    destination = account("users:2", ledger="b", throughAccount="bank:in", allowOverdraft=True)
    instance_id = run(v2, create(v2, send(source, destination, 7)))
    assert terminated(v2, instance_id).error is None
    out, into = stage_history(v2, instance_id)
    assert postings_of(out)[:2] == ("a", [("users:1", "bank:out", 7)])
    assert postings_of(into)[:2] == ("b", [("bank:in", "users:2", 7)])


def test_the_noop_stage_succeeds(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    instance_id = run(v2, create(v2, {"noop": {}}, send(account("world"), account("bank"), "100")))
    done = terminated(v2, instance_id)
    assert done.error is None and len(done.status) == 2
    assert stage_history(v2, instance_id, 0) == []


def test_amounts_as_formance_accepts_them(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    for amount in (100, "100", "${amount}"):
        instance_id = run(v2, create(v2, send(account("world"), account("bank"), amount)), amount="100")
        assert terminated(v2, instance_id).error is None
        [activity] = stage_history(v2, instance_id)
        assert postings_of(activity)[1] == [("world", "bank", 100)]
