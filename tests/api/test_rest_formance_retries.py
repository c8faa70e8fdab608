"""Retries as Formance: insufficient funds is retried (attempt, lastFailure, nextExecution
in the stage history) until the account is funded; a bad request fails at once; cancel
works between attempts. After orchestration-workflows-execute-with-error.go."""

from __future__ import annotations

from tests.api.formance_server import (
    account,
    create,
    eventually,
    instance,
    run,
    send,
    stage_history,
    terminated,
)
from tests.api.formance_server import formance as formance  # the fixture
from tests.api.rest_server import RestServer


def test_insufficient_funds_is_retried_until_the_account_is_funded(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    workflow = create(
        v2, send(account("empty:account", ledger="default"), account("bank", ledger="default"), 100)
    )
    instance_id = run(v2, workflow)

    def retried() -> list[object] | None:
        history = stage_history(v2, instance_id)
        return history if len(history) == 1 and history[0].attempt > 2 else None

    [pending] = eventually(retried)
    assert pending.name == "CreateTransaction"
    assert pending.started_at is not None and pending.next_execution is not None
    assert pending.last_failure is not None and "insufficient funds" in pending.last_failure
    assert pending.error is None and not pending.terminated
    create_tx = pending.input.create_transaction
    assert create_tx.ledger == "default"
    [posting] = create_tx.data.postings
    assert (posting.source, posting.destination, posting.amount, posting.asset) == (
        "empty:account",
        "bank",
        100,
        "EUR/2",
    )
    assert not instance(v2, instance_id).terminated

    funding = run(v2, create(v2, send(account("world"), account("empty:account"), 100)))
    assert terminated(v2, funding).error is None
    done = terminated(v2, instance_id)
    assert done.error is None
    [finished] = stage_history(v2, instance_id)
    assert finished.terminated and finished.error is None and finished.attempt > 2


def test_an_invalid_request_fails_without_retry(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    workflow = create(v2, send(account("empty:account"), account("bank"), -1))  # accepted, as Formance does
    instance_id = run(v2, workflow)
    done = terminated(v2, instance_id)
    assert done.error
    [activity] = stage_history(v2, instance_id)
    assert activity.error and activity.attempt == 1 and activity.terminated


def test_cancel_during_retries(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    instance_id = run(v2, create(v2, send(account("empty:account"), account("bank"), 100)))
    eventually(lambda: (history := stage_history(v2, instance_id)) and history[0].attempt > 1)
    assert v2.cancel_event(request={"instance_id": instance_id}).status_code == 204
    done = terminated(v2, instance_id)
    assert done.error == "canceled"
    assert [stage.error for stage in done.status] == ["canceled"]
    [activity] = stage_history(v2, instance_id)
    assert activity.terminated and activity.next_execution is None
