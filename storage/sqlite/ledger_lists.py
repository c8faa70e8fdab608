"""The ledger's lists on SQLite: postings, accounts and wallets, one page per call.

Postings and wallets keep their fields in the JSON document; the lists filter and sort on
expression indexes over it (`schema.POSTING_TIME` ...), so no column had to be added to
existing files. An account is listed once it has a balance row or metadata.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flowql.engine.clock import to_iso
from flowql.engine.models import Account, Posting, Wallet
from flowql.engine.pagination import (
    ACCOUNT_EPOCH,
    MAX_PREFIX_ACCOUNTS,
    Direction,
    Page,
    PageRequest,
    make_page,
)

from ..names import ACCOUNTS, BALANCES, POSTINGS, WALLETS
from .schema import POSTING_DESTINATION, POSTING_SOURCE, POSTING_TIME, WALLET_CREATED

ADDRESS_END = "\x7f"
"""Sorts after every character an address may hold ([a-zA-Z0-9_:-]): `prefix + ADDRESS_END`
bounds the addresses starting with `prefix`."""


def _after(request: PageRequest, time: str, ident: str) -> tuple[str, list[Any], str]:
    """The keyset clause, its values and the SQL order for a request."""
    if request.after is None:
        return "", [], "DESC"
    newer = request.after.direction is Direction.NEWER
    clause = f" AND ({time}, {ident}) {'>' if newer else '<'} (?, ?)"
    return clause, [to_iso(request.after.created_at), request.after.id], "ASC" if newer else "DESC"


def page_postings(
    c: sqlite3.Connection, request: PageRequest, ledger: str, account: str | None, instance_id: str | None
) -> Page[Posting]:
    if instance_id is not None:
        return _instance_postings(c, request, ledger, account, instance_id)
    after, after_values, order = _after(request, POSTING_TIME, "reference")
    limit = request.page_size + 1
    sides = [POSTING_SOURCE, POSTING_DESTINATION] if account is not None else [None]
    found: dict[str, Posting] = {}
    # One indexed, ordered range per side (source, destination), merged: an OR would sort
    # every posting of a busy account.
    for side in sides:
        where = f"ledger = ?{f' AND {side} = ?' if side else ''}{after}"
        values = [ledger, *([account] if side else []), *after_values]
        sql = (
            f"SELECT doc FROM {POSTINGS} WHERE {where} "
            f"ORDER BY {POSTING_TIME} {order}, reference {order} LIMIT ?"
        )
        for (doc,) in c.execute(sql, (*values, limit)):
            posting = Posting.model_validate_json(doc)
            found[posting.reference] = posting
    rows = sorted(found.values(), key=_posting_key, reverse=order == "DESC")[:limit]
    return make_page(rows, request, _posting_key)


def _posting_key(posting: Posting) -> tuple[Any, str]:
    return posting.timestamp, posting.reference


def _instance_postings(
    c: sqlite3.Connection, request: PageRequest, ledger: str, account: str | None, instance_id: str
) -> Page[Posting]:
    """An instance's postings from the reference index (one per send stage: at most the
    workflow's stage count), filtered and ordered here."""
    rows = c.execute(
        f"SELECT doc FROM {POSTINGS} WHERE reference >= ? AND reference < ?",
        (f"{instance_id}:", f"{instance_id};"),
    )
    postings = [Posting.model_validate_json(doc) for (doc,) in rows]
    chosen = [
        p
        for p in postings
        if p.ledger == ledger and (account is None or account in (p.source, p.destination))
    ]
    newest_first = request.after is None or request.after.direction is Direction.OLDER
    chosen.sort(key=_posting_key, reverse=newest_first)
    if request.after is not None:
        cursor = (request.after.created_at, request.after.id)
        chosen = [
            p for p in chosen if (_posting_key(p) < cursor) == newest_first and _posting_key(p) != cursor
        ]
    return make_page(chosen[: request.page_size + 1], request, _posting_key)


def page_accounts(c: sqlite3.Connection, request: PageRequest, ledger: str, prefix: str) -> Page[Account]:
    low = max(prefix, request.after.id + "\x00") if request.after else prefix
    high = prefix + ADDRESS_END
    rows = c.execute(
        f"SELECT address FROM {BALANCES} WHERE ledger = ? AND address >= ? AND address < ? "
        f"UNION SELECT address FROM {ACCOUNTS} WHERE ledger = ? AND address >= ? AND address < ? "
        "ORDER BY address LIMIT ?",
        (ledger, low, high, ledger, low, high, request.page_size + 1),
    ).fetchall()
    addresses = [address for (address,) in rows]
    accounts = _accounts(c, ledger, addresses)
    forward = request
    if request.after is not None and request.after.direction is not Direction.OLDER:
        forward = PageRequest(request.page_size, replace(request.after, direction=Direction.OLDER))
    page = make_page([accounts[a] for a in addresses], forward, lambda a: (ACCOUNT_EPOCH, a.address))
    return Page(page.items, page.has_more, page.page_size, page.next, None)


def accounts_by_prefix(
    c: sqlite3.Connection, ledger: str, prefixes: Sequence[str]
) -> dict[str, list[Account]]:
    found: dict[str, list[Account]] = {}
    for prefix in dict.fromkeys(prefixes):
        rows = c.execute(
            f"SELECT DISTINCT address FROM {BALANCES} WHERE ledger = ? AND address >= ? AND address < ? "
            "ORDER BY address LIMIT ?",
            (ledger, prefix, prefix + ADDRESS_END, MAX_PREFIX_ACCOUNTS),
        ).fetchall()
        addresses = [address for (address,) in rows]
        accounts = _accounts(c, ledger, addresses)
        found[prefix] = [accounts[a] for a in addresses]
    return found


def _accounts(c: sqlite3.Connection, ledger: str, addresses: Sequence[str]) -> dict[str, Account]:
    if not addresses:
        return {}
    marks = ",".join("?" * len(addresses))
    balances: dict[str, dict[str, int]] = {a: {} for a in addresses}
    for address, asset, value in c.execute(
        f"SELECT address, asset, balance FROM {BALANCES} WHERE ledger = ? AND address IN ({marks})",
        (ledger, *addresses),
    ):
        balances[address][asset] = int(value)
    metadata: dict[str, dict[str, str]] = {
        address: json.loads(doc)
        for address, doc in c.execute(
            f"SELECT address, metadata FROM {ACCOUNTS} WHERE ledger = ? AND address IN ({marks})",
            (ledger, *addresses),
        )
    }
    return {
        a: Account(ledger=ledger, address=a, balances=balances[a], metadata=metadata.get(a, {}))
        for a in addresses
    }


def list_wallets(c: sqlite3.Connection, request: PageRequest, ledger: str, name: str | None) -> Page[Wallet]:
    after, after_values, order = _after(request, WALLET_CREATED, "id")
    where, values = "ledger = ?", [ledger]
    if name:
        where += " AND instr(name, ?) > 0"
        values.append(name)
    rows = c.execute(
        f"SELECT doc FROM {WALLETS} WHERE {where}{after} "
        f"ORDER BY {WALLET_CREATED} {order}, id {order} LIMIT ?",
        (*values, *after_values, request.page_size + 1),
    ).fetchall()
    return make_page(
        [Wallet.model_validate_json(doc) for (doc,) in rows], request, lambda w: (w.created_at, w.id)
    )
