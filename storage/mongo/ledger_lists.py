"""The ledger's lists on MongoDB: postings, accounts and wallets, one range query per page.

Postings are listed when applied, newest first on `(timestamp, _id)` (`_id` is the
reference); accounts by address from `{ledger, address}` ranges; wallets like every other
record, newest first on `(created_at, _id)`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flowql.engine.models import Account, Posting, Wallet
from flowql.engine.pagination import (
    ACCOUNT_EPOCH,
    MAX_PREFIX_ACCOUNTS,
    Direction,
    Page,
    PageRequest,
    make_page,
)

from . import pages
from .codec import Doc
from .postings import APPLIED, _account, _posting

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

ADDRESS_END = "\x7f"
"""Sorts after every character an address may hold: bounds the addresses with a prefix."""
_NO_RING = {"applied": 0}


async def page_postings(
    postings: AsyncCollection[Doc],
    request: PageRequest,
    ledger: str,
    account: str | None,
    instance_id: str | None,
) -> Page[Posting]:
    query: Doc = {"ledger": ledger, "state": APPLIED}
    if account is not None:
        query["$or"] = [{"source": account}, {"destination": account}]
    if instance_id is not None:
        query["_id"] = {"$gte": f"{instance_id}:", "$lt": f"{instance_id};"}
    order = -1
    if request.after is not None:
        op, order = ("$lt", -1) if request.after.direction is Direction.OLDER else ("$gt", 1)
        moment, ident = request.after.created_at, request.after.id
        after = {"$or": [{"timestamp": {op: moment}}, {"timestamp": moment, "_id": {op: ident}}]}
        query = {"$and": [query, after]}
    cursor = postings.find(query).sort([("timestamp", order), ("_id", order)])
    docs = await cursor.limit(request.page_size + 1).to_list(None)
    return make_page([_posting(doc) for doc in docs], request, lambda p: (p.timestamp, p.reference))


async def page_accounts(
    accounts: AsyncCollection[Doc], request: PageRequest, ledger: str, prefix: str
) -> Page[Account]:
    bounds: Doc = {"$gte": prefix, "$lt": prefix + ADDRESS_END}
    forward = request
    if request.after is not None:
        bounds["$gt"] = request.after.id
        if request.after.direction is not Direction.OLDER:
            forward = PageRequest(request.page_size, replace(request.after, direction=Direction.OLDER))
    cursor = accounts.find({"ledger": ledger, "address": bounds}, _NO_RING).sort("address", 1)
    docs = await cursor.limit(request.page_size + 1).to_list(None)
    rows = [_account(ledger, doc["address"], doc) for doc in docs]
    page = make_page(rows, forward, lambda a: (ACCOUNT_EPOCH, a.address))
    return Page(page.items, page.has_more, page.page_size, page.next, None)


async def accounts_by_prefix(
    accounts: AsyncCollection[Doc], ledger: str, prefixes: Sequence[str]
) -> dict[str, list[Account]]:
    unique = list(dict.fromkeys(prefixes))
    found: dict[str, list[Account]] = {p: [] for p in unique}
    if not unique:
        return found
    ranges = [{"address": {"$gte": p, "$lt": p + ADDRESS_END}} for p in unique]
    cursor = accounts.find({"ledger": ledger, "$or": ranges}, _NO_RING).sort("address", 1)
    for doc in await cursor.to_list(None):
        for prefix in unique:
            if doc["address"].startswith(prefix) and len(found[prefix]) < MAX_PREFIX_ACCOUNTS:
                found[prefix].append(_account(ledger, doc["address"], doc))
    return found


async def list_wallets(
    wallets: AsyncCollection[Doc], request: PageRequest, ledger: str, name: str | None
) -> Page[Wallet]:
    query: dict[str, Any] = {"ledger": ledger}
    if name:
        query["name"] = {"$regex": re.escape(name)}
    return await pages.page(wallets, Wallet, request, lambda w: (w.created_at, w.id), query)
