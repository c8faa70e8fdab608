"""Wallets and transactions as Formance's stage history shows them (stages/send/run.go,
manager.go ReadStageHistory, orchestration-workflows-execute.go): wallet sends run
GetWallet / ListWallets then CreditWallet or DebitWallet, CreateTransaction answers its
transaction with a `txid`, and a wallet's balance is the account `wallets:{id without
dashes}:{balance}`."""

from __future__ import annotations

from tests.api.formance_server import account, create, run, send, stage_history, terminated
from tests.api.formance_server import formance as formance  # the fixture
from tests.api.rest_server import RestServer


def test_create_transaction_answers_its_transaction_with_a_txid(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    stage = send(
        account("world", ledger="default"), account("bank", ledger="default"), 100, metadata={"foo": "bar"}
    )
    instance_id = run(v2, create(v2, stage))
    assert terminated(v2, instance_id).error is None
    [activity] = stage_history(v2, instance_id)
    assert activity.attempt == 1 and activity.last_failure is None and activity.next_execution is None
    [transaction] = activity.output.create_transaction.data
    assert isinstance(transaction.txid, int)
    [posting] = transaction.postings
    assert (posting.source, posting.destination, posting.amount, posting.asset) == (
        "world",
        "bank",
        100,
        "EUR/2",
    )
    assert transaction.metadata == {"foo": "bar"} and transaction.timestamp is not None
    v1 = formance.sdk().orchestration.v1
    [old] = list(
        v1.get_instance_stage_history(
            request={"instance_id": instance_id, "number": 0}
        ).get_workflow_instance_history_stage_response.data
    )
    assert old.output.create_transaction.data.id == transaction.txid


def test_wallet_sends_run_formances_wallet_activities(formance: RestServer) -> None:
    v2 = formance.sdk().orchestration.v2
    alice = formance.run(lambda: formance.engine.ledger.create_wallet("alice", "default", {}))
    bob = formance.run(lambda: formance.engine.ledger.create_wallet("bob", "default", {}))
    credit = send(account("world"), {"wallet": {"id": alice.id}}, 100)
    move = send({"wallet": {"id": alice.id}}, {"wallet": {"name": "bob", "balance": "savings"}}, 30)
    out = send({"wallet": {"id": bob.id, "balance": "savings"}}, account("users:1"), 10)
    instance_id = run(v2, create(v2, credit, move, out))
    assert terminated(v2, instance_id).error is None

    get, credited = stage_history(v2, instance_id, 0)
    assert (get.name, credited.name) == ("GetWallet", "CreditWallet")
    assert get.input.get_wallet.id == alice.id
    request = credited.input.credit_wallet
    assert request.id == alice.id and request.data.balance == "main"
    assert request.data.amount.amount == 100 and request.data.amount.asset == "EUR/2"
    assert [(s.type, s.identifier) for s in request.data.sources] == [("ACCOUNT", "world")]

    names = [a.name for a in stage_history(v2, instance_id, 1)]
    assert names == ["GetWallet", "ListWallets", "CreditWallet"]
    names = [a.name for a in stage_history(v2, instance_id, 2)]
    assert names == ["GetWallet", "DebitWallet"]
    debit = stage_history(v2, instance_id, 2)[1].input.debit_wallet
    assert debit.id == bob.id and debit.data.balances == ["savings"]
    assert (debit.data.destination.type, debit.data.destination.identifier) == ("ACCOUNT", "users:1")

    balances = formance.run(
        lambda: formance.engine.ledger.get_account("default", f"wallets:{bob.id.replace('-', '')}:savings")
    )
    assert balances.balances == {"EUR/2": 20}


def test_wallet_lookups_answer_what_formances_wallets_service_answers(formance: RestServer) -> None:
    """GetWallet: `{data: wallet}` with the main balance's assets when it ran; ListWallets:
    `{cursor: {pageSize: 15, hasMore, data: [wallet]}}` unexpanded (balances empty), as the
    wallets service lists; CreditWallet and DebitWallet return nothing (an immediate debit
    makes no hold: the wallets service answers 204), so they have no output."""
    v2 = formance.sdk().orchestration.v2
    alice = formance.run(lambda: formance.engine.ledger.create_wallet("alice", "default", {"tier": "gold"}))
    formance.run(lambda: formance.engine.ledger.create_wallet("carol", "default", {}))
    fund = send(account("world"), {"wallet": {"id": alice.id}}, 12345678901234567890)
    by_name = send({"wallet": {"id": alice.id}}, {"wallet": {"name": "carol"}}, 40)
    out = send({"wallet": {"id": alice.id}}, account("users:1"), 5)
    instance_id = run(v2, create(v2, fund, by_name, out))
    assert terminated(v2, instance_id).error is None

    get, credited = stage_history(v2, instance_id, 0)
    wallet = get.output.get_wallet.data
    assert (wallet.id, wallet.name, wallet.ledger, wallet.metadata) == (
        alice.id,
        "alice",
        "default",
        {"tier": "gold"},
    )
    assert wallet.created_at == alice.created_at
    assert wallet.balances.main.assets == {}  # read before the credit
    assert credited.output is None

    get, listed, _ = stage_history(v2, instance_id, 1)
    assert get.output.get_wallet.data.balances.main.assets == {"EUR/2": 12345678901234567890}
    page = listed.output.list_wallets.cursor
    assert page.page_size == 15 and page.has_more is False
    [carol] = page.data
    assert (carol.name, carol.ledger) == ("carol", "default")

    get, debited = stage_history(v2, instance_id, 2)
    assert get.output.get_wallet.data.balances.main.assets == {"EUR/2": 12345678901234567890 - 40}
    assert debited.name == "DebitWallet" and debited.output is None and debited.terminated

    v1 = formance.sdk().orchestration.v1
    history = v1.get_instance_stage_history(request={"instance_id": instance_id, "number": 1})
    old_get, old_list, _ = history.get_workflow_instance_history_stage_response.data
    assert old_get.output.get_wallet.data.balances.main.assets == {"EUR/2": 12345678901234567890}
    assert [w.name for w in old_list.output.list_wallets.cursor.data] == ["carol"]
