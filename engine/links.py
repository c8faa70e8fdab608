"""`link(object, "rel")` of trigger expressions, as Formance resolves it.

Formance (`internal/triggers/expression.go`) finds the one entry of `object.links` whose
`name` is `rel` (none or several: an error), GETs its `uri` with the stack's HTTP client and
returns the `data` of the answer. flowql resolves a URI in this order:

1. its origin is one the operator allowed (`--link-origin`): fetched over HTTP, as Formance
   does (`LinkFetcher`, built in `flowql/`: the engine does no I/O of its own);
2. its path names a resource of the embedded ledger by Formance's routes (flowql is the
   ledger and wallets service here, whatever host the event's producer wrote):
   `…/ledger/v2/{ledger}/accounts/{address}`, `…/ledger/{ledger}/accounts/{address}` (v1) and
   `…/wallets/wallets/{id}` answer the account (`address`, `metadata`, `balances`) or the
   wallet as GetWallet does (its main balance's assets);
3. anything else is an error: nothing is fetched from an origin nobody allowed.

Errors read as Formance's (`link 'x' not defined for object`, `unexpected status code when
reading resource: 404`), so an expression fails the way it would there.
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .errors import ErrorCode, FlowqlError
from .ledger import Ledger, wallet_json


class LinkError(Exception):
    """A link that cannot be followed; the message is the expression's error."""


class LinkFetcher(Protocol):
    def accepts(self, uri: str) -> bool:
        """Whether the URI's origin is one the operator allowed."""

    async def fetch(self, uri: str) -> dict[str, Any]:
        """The `data` object of the resource's JSON answer; LinkError otherwise."""


_ACCOUNT_V2 = re.compile(r"(?:^|/)ledger/v2/(?P<ledger>[^/]+)/accounts/(?P<address>[^/]+)/?$")
_ACCOUNT_V1 = re.compile(r"(?:^|/)ledger/(?P<ledger>[^/]+)/accounts/(?P<address>[^/]+)/?$")
_WALLET = re.compile(r"(?:^|/)wallets/wallets/(?P<id>[^/]+)/?$")
_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.VALIDATION: 400}


def find_uri(target: Any, rel: str) -> str:
    """The `uri` of the one link named `rel` in `target.links`, as Formance picks it."""
    links = target.get("links") if isinstance(target, dict) else None
    matching = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("name") == rel
    ]
    if not matching:
        raise LinkError(f"link '{rel}' not defined for object")
    if len(matching) > 1:
        raise LinkError(f"multiple link '{rel}' found for object")
    uri = matching[0].get("uri")
    if not isinstance(uri, str) or not uri:
        raise LinkError(f"link '{rel}' has no uri")
    return uri


class Links:
    """Follows links for trigger expressions: allowed origins over HTTP, else the embedded
    ledger's accounts and wallets."""

    def __init__(self, ledger: Ledger, fetcher: LinkFetcher | None = None) -> None:
        self._ledger = ledger
        self._fetcher = fetcher

    async def resolve(self, uri: str) -> dict[str, Any]:
        if self._fetcher is not None and self._fetcher.accepts(uri):
            return await self._fetcher.fetch(uri)
        path = urlsplit(uri).path
        try:
            if found := _ACCOUNT_V2.search(path) or _ACCOUNT_V1.search(path):
                account = await self._ledger.get_account(unquote(found["ledger"]), unquote(found["address"]))
                return {
                    "address": account.address,
                    "metadata": account.metadata,
                    "balances": account.balances,
                }
            if found := _WALLET.search(path):
                wallet = await self._ledger.get_wallet(unquote(found["id"]))
                main = await self._ledger.get_account(wallet.ledger, wallet.account("main"))
                answer = wallet_json(wallet, {})
                answer["balances"] = {"main": {"assets": dict(main.balances)}}
                return answer
        except FlowqlError as error:
            status = _STATUS.get(error.code, 500)
            raise LinkError(f"unexpected status code when reading resource: {status}") from None
        raise LinkError(
            f"reading resource: {uri[:200]}: not an account or wallet of this ledger, "
            "and not on an allowed origin (--link-origin)"
        )


__all__ = ["LinkError", "LinkFetcher", "Links", "find_uri"]
