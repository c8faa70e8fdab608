"""The embedded ledger on MongoDB without transactions: idempotent, crash-safe postings.

A posting is applied in steps, each one a single-document write:

1. **Claim.** Insert the posting document `{_id: reference, state: "pending", attempt: n}`.
   The reference is the `_id`, so a second `post()` with it finds the first: `applied` returns
   the stored posting, `pending` (a crash, or a concurrent caller) goes on applying the stored
   one, `rejected` starts attempt `n + 1` with the new posting (a reference refused for lack of
   funds stays usable, as on SQLite).
2. **Debit, then credit.** Each leg is a compare-and-set on the account document's `version`
   that sets the new balance *and* pushes a token (`"{n}-{reference}"` for the debit,
   `"{n}+{reference}"` for the credit) into the account's `applied` ring (its last 1000
   tokens). The source's funds check happens in the debit: when funds are short, the same
   compare-and-set pushes `"{n}!{reference}"` instead and leaves the balance alone. So the one
   decision about an attempt is recorded once, atomically, in the source account, and whoever
   applies the attempt next follows it.
3. **Finish.** Mark the posting `applied` (after both legs) or `rejected` (after a refusal).

Why running it twice (`recover_postings` at start-up, a replayed stage, or two processes at
once) is safe: a leg whose token is in the account's ring is skipped, so each leg moves a
balance at most once; a leg whose compare-and-set loses re-reads the account and finds either
its token or a fresh version; the final mark only ever records what the source account already
decided. A crash between any two steps leaves a `pending` posting that the next `post()` with
that reference, or `recover_postings()`, completes. The ring is bounded: recovery must run
before an account sees 1000 other postings, which opening the store guarantees for one process.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from flowql.engine.errors import FlowqlError, InsufficientFunds, conflict, validation
from flowql.engine.faults import crash_point
from flowql.engine.models import Account, Posting, Wallet

from ..names import MONGO_SCHEMA_VERSION as SCHEMA_VERSION
from .codec import Doc, decode, decode_amounts, encode, encode_amounts, from_doc, to_doc
from .drafts import Drafts
from .server import Server
from .turns import Turns
from .versions import Versioned

if TYPE_CHECKING:
    from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

WORLD = "world"
PENDING, APPLIED, REJECTED = "pending", "applied", "rejected"
RING = 1000

# Crash points (flowql.engine.faults) between the steps, for recovery tests.
CLAIMED = "mongo-posting-claimed"
DEBITED = "mongo-posting-debited"
CREDITED = "mongo-posting-credited"
REFUSED = "mongo-posting-refused"
CRASH_POINTS = (CLAIMED, DEBITED, CREDITED, REFUSED)
_NO_RING = {"applied": 0}


def account_key(ledger: str, address: str) -> str:
    """`ledger/address` (addresses have no `/`); a string `_id`, see `versions.claim_id`."""
    return f"{ledger}/{address}"


def _posting_doc(posting: Posting, allow_overdraft: bool, attempt: int) -> Doc:
    return to_doc(
        posting,
        id_field="reference",
        amount=str(posting.amount),
        state=PENDING,
        attempt=attempt,
        allow_overdraft=allow_overdraft,
        order=ObjectId(),
        error=None,
    )


def _posting(doc: Doc) -> Posting:
    """A stored posting; its transaction id is its claim's ObjectId as a number (increasing,
    unique: MongoDB has no sequence without a counter document and its races)."""
    txid = int(str(doc["order"]), 16) if doc.get("order") is not None else None
    return from_doc(Posting, doc | {"amount": int(doc["amount"]), "txid": txid}, id_field="reference")


async def _back_off(lost: int) -> None:
    """After `lost` lost compare-and-sets on one account, wait a random while (up to 2 ms
    doubling to 64 ms): fifty writers retrying at once on FerretDB took 48 s without it."""
    if lost:
        await asyncio.sleep(random.uniform(0, 0.001 * 2 ** min(lost, 6)))


def _refusal(posting: Posting, available: int) -> FlowqlError:
    return InsufficientFunds(posting.source, posting.asset, available, posting.amount)


class MongoLedger:
    def __init__(
        self,
        postings: AsyncCollection[Doc],
        accounts: AsyncCollection[Doc],
        wallets: AsyncCollection[Doc],
        *,
        versions: AsyncCollection[Doc],
        drafts: Drafts,
        server: Server | None = None,
    ) -> None:
        self._server = server or Server()
        self._turns = Turns()
        self._postings = postings
        self._accounts = accounts
        self._wallets = wallets
        self._versions = versions
        self._account_versions = Versioned("account", accounts, versions, drafts, server=self._server)
        self._attempts = Versioned(
            "posting", postings, versions, drafts, field="attempt", server=self._server
        )

    # --- postings -----------------------------------------------------------------------
    async def post(self, posting: Posting, allow_overdraft: bool) -> Posting:
        if posting.amount < 0:  # would credit the source; refused before anything is written
            applied = await self._postings.find_one({"_id": posting.reference})
            if applied is not None and applied["state"] == APPLIED:
                return _posting(applied)
            raise validation(f"amount: must not be negative, got {posting.amount}", field="amount")
        claimed = await self._claim(posting, allow_overdraft)
        return claimed if isinstance(claimed, Posting) else await self._apply(claimed)

    async def recover_postings(self) -> int:
        """Finish every `pending` posting; returns how many there were."""
        pending = await self._postings.find({"state": PENDING}).sort("order", 1).to_list(None)
        for doc in pending:
            try:
                await self._apply(doc)
            except FlowqlError as error:
                log.info("recovered posting %r was refused: %s", doc["_id"], error.message)
        return len(pending)

    async def list_postings(self, ledger: str | None) -> list[Posting]:
        query: Doc = {"state": APPLIED}
        if ledger is not None:
            query["ledger"] = ledger
        return [_posting(doc) for doc in await self._postings.find(query).sort("order", 1).to_list(None)]

    async def _claim(self, posting: Posting, allow_overdraft: bool) -> Posting | Doc:
        """The stored posting when already applied, else the pending attempt to apply."""
        fresh = _posting_doc(posting, allow_overdraft, attempt=1)
        while True:
            try:
                await self._postings.insert_one(fresh)
                return fresh
            except DuplicateKeyError:
                stored = await self._postings.find_one({"_id": posting.reference})
            if stored is None:
                continue
            if stored["state"] == APPLIED:
                return _posting(stored)
            if stored["state"] == PENDING:
                return stored
            retry = _posting_doc(posting, allow_overdraft, attempt=stored["attempt"] + 1)
            if await self._attempts.replace(retry, stored["attempt"]):
                return retry

    async def _apply(self, doc: Doc) -> Posting:
        posting = _posting(doc)
        attempt, ref = doc["attempt"], posting.reference
        checked = posting.source != WORLD and not doc["allow_overdraft"]
        refusal = f"{attempt}!{ref}" if checked else None
        crash_point(CLAIMED)
        debited, available = await self._leg(
            posting, posting.source, -posting.amount, f"{attempt}-{ref}", refusal
        )
        if not debited:
            error = _refusal(posting, available)
            crash_point(REFUSED)
            await self._finish(ref, attempt, REJECTED, error.message)
            raise error
        crash_point(DEBITED)
        await self._leg(posting, posting.destination, posting.amount, f"{attempt}+{ref}")
        crash_point(CREDITED)
        await self._finish(ref, attempt, APPLIED, None)
        return posting

    async def _finish(self, ref: str, attempt: int, state: str, error: str | None) -> None:
        change = {"$set": {"state": state, "error": error}}
        if not self._server.id_filters_only:
            await self._postings.update_one({"_id": ref, "attempt": attempt, "state": PENDING}, change)
            return
        # Checked here, then written by `_id` (see `server`): FerretDB's own filtered update is
        # the same read then write. Finishers of one attempt agree on its outcome (the legs'
        # tokens decide it), and a next attempt starts only once this one is finished.
        stored = await self._postings.find_one({"_id": ref}, {"attempt": 1, "state": 1})
        if stored is not None and stored["attempt"] == attempt and stored["state"] == PENDING:
            await self._postings.update_one({"_id": ref}, change)

    async def _leg(
        self, posting: Posting, address: str, delta: int, token: str, refusal: str | None = None
    ) -> tuple[bool, int]:
        """Move one balance once; returns (moved, balance before the move).

        `token` marks the move in the account's ring. With a `refusal` token the balance may
        not go below zero: when it would, the refusal is recorded instead and this returns False.
        """
        key = account_key(posting.ledger, address)
        async with self._turns.of(key):  # this process's writers of the account in turn
            lost = 0
            while True:
                await _back_off(lost)
                lost += 1
                account = await self._accounts.find_one({"_id": key})
                ring: list[str] = account["applied"] if account else []
                balances = decode_amounts(account["balances"] if account else None)
                before = balances.get(posting.asset, 0)
                if token in ring or (refusal is not None and refusal in ring):
                    return token in ring, before
                if refusal is not None and before + delta < 0:
                    if await self._write(posting.ledger, address, account, {}, refusal):
                        return False, before
                    continue
                balances[posting.asset] = before + delta
                if await self._write(
                    posting.ledger, address, account, {"balances": encode_amounts(balances)}, token
                ):
                    return True, before

    async def _write(
        self, ledger: str, address: str, account: Doc | None, changes: Doc, token: str | None
    ) -> bool:
        """Compare-and-set of one (whole) account document on its version; False when it lost."""
        if account is None:
            doc: Doc = {
                "_id": account_key(ledger, address),
                "schema_version": SCHEMA_VERSION,
                "ledger": ledger,
                "address": address,
                "balances": {},
                "metadata": {},
                "version": 1,
                "applied": [token] if token else [],
                **changes,
            }
            return await self._account_versions.insert(doc)
        ring: list[str] = account["applied"] + [token] if token else account["applied"]
        doc = account | changes | {"version": account["version"] + 1, "applied": ring[-RING:]}
        return await self._account_versions.replace(doc, account["version"])

    # --- accounts -----------------------------------------------------------------------
    async def get_account(self, ledger: str, address: str) -> Account:
        doc = await self._accounts.find_one({"_id": account_key(ledger, address)}, _NO_RING)
        return _account(ledger, address, doc)

    async def set_metadata(self, ledger: str, address: str, metadata: dict[str, str]) -> Account:
        async with self._turns.of(account_key(ledger, address)):
            lost = 0
            while True:
                await _back_off(lost)
                lost += 1
                doc = await self._accounts.find_one({"_id": account_key(ledger, address)})
                merged = _account(ledger, address, doc).metadata | metadata
                if await self._write(ledger, address, doc, {"metadata": encode(merged)}, None):
                    return _account(ledger, address, (doc or {}) | {"metadata": encode(merged)})

    # --- wallets ------------------------------------------------------------------------
    async def insert_wallet(self, wallet: Wallet) -> None:
        try:
            await self._wallets.insert_one(to_doc(wallet))
        except DuplicateKeyError:
            raise conflict(
                f"a wallet named {wallet.name!r} already exists in ledger {wallet.ledger!r}"
            ) from None

    async def get_wallet(self, wallet_id: str) -> Wallet | None:
        doc = await self._wallets.find_one({"_id": wallet_id})
        return from_doc(Wallet, doc) if doc else None

    async def get_wallet_by_name(self, ledger: str | None, name: str) -> Wallet | None:
        query: Doc = {"name": name} if ledger is None else {"ledger": ledger, "name": name}
        doc = await self._wallets.find_one(query)
        return from_doc(Wallet, doc) if doc else None


def _account(ledger: str, address: str, doc: Doc | None) -> Account:
    if doc is None:
        return Account(ledger=ledger, address=address)
    metadata: dict[str, str] = decode(doc.get("metadata") or {})
    return Account(
        ledger=ledger, address=address, balances=decode_amounts(doc.get("balances")), metadata=metadata
    )
