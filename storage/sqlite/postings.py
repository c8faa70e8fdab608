"""The embedded ledger's writes on SQLite: one posting is one transaction (in a savepoint)."""

from __future__ import annotations

import json
import sqlite3

from flowql.engine.errors import InsufficientFunds, validation
from flowql.engine.models import Account, Posting

from ..names import ACCOUNTS, BALANCES, POSTINGS

WORLD = "world"


def post(c: sqlite3.Connection, posting: Posting, allow_overdraft: bool) -> Posting:
    existing = c.execute(
        f"SELECT seq, doc FROM {POSTINGS} WHERE reference = ?", (posting.reference,)
    ).fetchone()
    if existing is not None:
        return _stored(*existing)
    if posting.amount < 0:
        raise validation(f"amount: must not be negative, got {posting.amount}", field="amount")
    source = balance(c, posting.ledger, posting.source, posting.asset)
    if posting.source != WORLD and not allow_overdraft and source < posting.amount:
        raise InsufficientFunds(posting.source, posting.asset, source, posting.amount)
    _set_balance(c, posting.ledger, posting.source, posting.asset, source - posting.amount)
    destination = balance(c, posting.ledger, posting.destination, posting.asset)
    _set_balance(c, posting.ledger, posting.destination, posting.asset, destination + posting.amount)
    inserted = c.execute(
        f"INSERT INTO {POSTINGS} (reference, ledger, doc) VALUES (?, ?, ?)",
        (posting.reference, posting.ledger, posting.model_dump_json()),
    )
    assert inserted.lastrowid is not None
    return posting.model_copy(update={"txid": inserted.lastrowid - 1})


def _stored(seq: int, doc: str) -> Posting:
    """A stored posting; its transaction id is its row's sequence, from 0 (as Formance's)."""
    return Posting.model_validate_json(doc).model_copy(update={"txid": seq - 1})


def balance(c: sqlite3.Connection, ledger: str, address: str, asset: str) -> int:
    row = c.execute(
        f"SELECT balance FROM {BALANCES} WHERE ledger = ? AND address = ? AND asset = ?",
        (ledger, address, asset),
    ).fetchone()
    return int(row[0]) if row else 0


def _set_balance(c: sqlite3.Connection, ledger: str, address: str, asset: str, value: int) -> None:
    c.execute(
        f"INSERT INTO {BALANCES} (ledger, address, asset, balance) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (ledger, address, asset) DO UPDATE SET balance = excluded.balance",
        (ledger, address, asset, str(value)),
    )


def get_account(c: sqlite3.Connection, ledger: str, address: str) -> Account:
    balances = {
        asset: int(value)
        for asset, value in c.execute(
            f"SELECT asset, balance FROM {BALANCES} WHERE ledger = ? AND address = ?", (ledger, address)
        )
    }
    row = c.execute(
        f"SELECT metadata FROM {ACCOUNTS} WHERE ledger = ? AND address = ?", (ledger, address)
    ).fetchone()
    metadata: dict[str, str] = json.loads(row[0]) if row else {}
    return Account(ledger=ledger, address=address, balances=balances, metadata=metadata)


def set_metadata(c: sqlite3.Connection, ledger: str, address: str, metadata: dict[str, str]) -> Account:
    current = get_account(c, ledger, address).metadata
    current.update(metadata)
    c.execute(
        f"INSERT INTO {ACCOUNTS} (ledger, address, metadata) VALUES (?, ?, ?) "
        "ON CONFLICT (ledger, address) DO UPDATE SET metadata = excluded.metadata",
        (ledger, address, json.dumps(current, sort_keys=True)),
    )
    return get_account(c, ledger, address)


def list_postings(c: sqlite3.Connection, ledger: str | None) -> list[Posting]:
    if ledger is None:
        rows = c.execute(f"SELECT seq, doc FROM {POSTINGS} ORDER BY seq")
    else:
        rows = c.execute(f"SELECT seq, doc FROM {POSTINGS} WHERE ledger = ? ORDER BY seq", (ledger,))
    return [_stored(seq, doc) for seq, doc in rows]
