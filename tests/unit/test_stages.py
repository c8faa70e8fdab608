from __future__ import annotations

from typing import Any

import pytest

from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.engine.stages import SendSpec, StageKind, UpdateSpec, interpolate, parse_stage, parse_stages


def send(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "source": {"account": {"id": "world"}},
        "destination": {"account": {"id": "users:1"}},
        "amount": {"amount": 100, "asset": "USD/2"},
    }
    spec.update(overrides)
    return {"send": spec}


def error_of(stages: Any) -> FlowqlError:
    with pytest.raises(FlowqlError) as caught:
        parse_stages(stages)
    assert caught.value.code is ErrorCode.VALIDATION
    return caught.value


def test_every_kind_parses() -> None:
    parsed = parse_stages(
        [
            send(),
            {"delay": {"duration": "1h30m"}},
            {"delay": {"until": "2030-01-01T00:00:00Z"}},
            {"wait_event": {"event": "approved"}},
            {"update": {"account": {"id": "users:1", "metadata": {"tier": "gold"}}}},
        ]
    )
    assert [kind for kind, _ in parsed] == [
        StageKind.SEND,
        StageKind.DELAY,
        StageKind.DELAY,
        StageKind.WAIT_EVENT,
        StageKind.UPDATE,
    ]


def test_error_names_the_path_of_the_bad_field() -> None:
    bad = send(amount={"amount": 1.5, "asset": "USD"})
    error = error_of([{"delay": {"duration": "1s"}}, {"wait_event": {"event": "x"}}, bad])
    assert error.field == "stages[2].send.amount.amount"
    assert error.message.startswith("stages[2].send.amount.amount:")


@pytest.mark.parametrize(
    ("stage", "field"),
    [
        ({"send": {}, "delay": {}}, "stages[0]"),
        ({"transfer": {}}, "stages[0].transfer"),
        ({"delay": {}}, "stages[0].delay"),
        ({"delay": {"duration": "soon"}}, "stages[0].delay.duration"),
        ({"delay": {"until": "tomorrow"}}, "stages[0].delay.until"),
        ({"wait_event": {"event": "x", "extra": 1}}, "stages[0].wait_event.extra"),
        (send(amount={"amount": 100.5, "asset": "USD"}), "stages[0].send.amount.amount"),
        (send(amount={"amount": "1e3", "asset": "USD"}), "stages[0].send.amount.amount"),
        (send(amount={"amount": 1, "asset": "usd"}), "stages[0].send.amount"),
        (send(source={"account": {"id": "a"}, "wallet": {"id": "w"}}), "stages[0].send.source"),
        (send(destination={"wallet": {}}), "stages[0].send.destination.wallet"),
        (send(source=None), "stages[0].send.source"),
        ("not an object", "stages[0]"),
    ],
)
def test_bad_stages_are_refused_with_their_path(stage: Any, field: str) -> None:
    assert error_of([stage]).field == field


def test_amounts_are_arbitrary_precision_integers() -> None:
    huge = 2**80
    _, spec = parse_stage(send(amount={"amount": str(huge), "asset": "USD"}))
    assert isinstance(spec, SendSpec)
    assert spec.amount.amount == huge


def test_templates_are_accepted_at_create_time_and_checked_after_interpolation() -> None:
    raw = send(amount={"amount": "${amount}", "asset": "${asset}"})
    parse_stages([raw])
    filled = interpolate(raw, {"amount": "250", "asset": "EUR/2"})
    _, spec = parse_stage(filled)
    assert isinstance(spec, SendSpec)
    assert spec.amount.amount == 250
    with pytest.raises(FlowqlError, match="abc"):
        parse_stage(interpolate(raw, {"amount": "abc", "asset": "EUR"}), path="stages[0]")


def test_a_missing_variable_reads_as_empty_then_the_default_applies() -> None:
    raw = send(source={"account": {"id": "world", "ledger": "${l}"}})
    _, spec = parse_stage(interpolate(raw, {}))
    assert isinstance(spec, SendSpec) and spec.source.account is not None
    assert spec.source.account.ledger == "default"  # Formance: "" takes the field's default
    with pytest.raises(FlowqlError) as caught:
        parse_stage(interpolate({"wait_event": {"event": "${name}"}}, {}), path="stages[1]")
    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.field == "stages[1].wait_event.event"
    assert "required field is missing" in caught.value.message
    _, update = parse_stage({"update": {"account": {"id": "a", "metadata": {"k": ""}}}})
    assert isinstance(update, UpdateSpec)
    assert update.account.ledger == "main" and update.account.metadata == {"k": ""}


@pytest.mark.parametrize(
    ("given", "parsed"), [(100, 100), (100.0, 100), (1e3, 1000), ("-1", -1), (-1, -1), ("+5", 5)]
)
def test_amounts_as_formance_reads_them(given: Any, parsed: int) -> None:
    _, spec = parse_stage(send(amount={"amount": given, "asset": "USD"}))
    assert isinstance(spec, SendSpec) and spec.amount.amount == parsed


def test_noop_stage_and_account_level_options() -> None:
    assert parse_stage({"noop": {}})[0] is StageKind.NOOP
    assert error_of([{"noop": {"x": 1}}]).field == "stages[0].noop.x"
    _, spec = parse_stage(
        send(source={"account": {"id": "a", "throughAccount": "bridge", "allowOverdraft": "TRUE"}})
    )
    assert isinstance(spec, SendSpec) and spec.source.account is not None
    assert spec.source.account.throughAccount == "bridge" and spec.source.account.allowOverdraft is True


@pytest.mark.parametrize("value", [0, "yes", 1, "1"])
def test_allow_overdraft_must_be_a_real_boolean(value: Any) -> None:
    assert error_of([send(allowOverdraft=value)]).field == "stages[0].send.allowOverdraft"


def test_delay_longer_than_100_years_is_refused_at_create() -> None:
    assert error_of([{"delay": {"duration": "900000000h"}}]).field == "stages[0].delay.duration"


@pytest.mark.parametrize("amount", ["9" * 1001, 10**1001])
def test_amounts_over_1000_digits_are_refused_with_a_short_message(amount: Any) -> None:
    error = error_of([send(amount={"amount": amount, "asset": "USD"})])
    assert error.field == "stages[0].send.amount.amount"
    assert "at most 1000 digits" in error.message and len(error.message) < 200
