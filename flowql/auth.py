"""Who the caller is and what it may do: one rule for GraphQL, REST, WebSocket and /metrics.

Optional bearer-token auth, off unless tokens are configured. A token comes from the
`Authorization: Bearer <token>` header (of the HTTP request or of the WebSocket upgrade) or
from `connection_init`'s payload `{"Authorization": "Bearer ..."}`. Reading needs
`orchestration:read`, changing anything `orchestration:write`: a GraphQL query or
subscription reads, a mutation writes; an HTTP GET, HEAD or OPTIONS reads, any other method
writes. A missing or unknown token is UNAUTHENTICATED, a token without the scope FORBIDDEN.
Transports only translate a `Refusal` into their own answer (GraphQL error, Formance error
body, WebSocket close code).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from flowql.engine.errors import ErrorCode

from .config import READ, WRITE, AuthToken

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
"""HTTP methods that change nothing (RFC 9110 §9.2.1): they need `orchestration:read`."""


@dataclass(frozen=True, slots=True)
class Grant:
    authenticated: bool
    scopes: frozenset[str] | None
    """None: auth is off and everything is allowed."""
    token: str | None = None
    """The token presented (the key of per-token limits); None when auth is off or unknown."""


OPEN: Final = Grant(authenticated=False, scopes=None)


@dataclass(frozen=True, slots=True)
class Refusal:
    code: ErrorCode
    """UNAUTHENTICATED or FORBIDDEN."""
    message: str
    scope: str | None = None


UNAUTHENTICATED: Final = Refusal(
    ErrorCode.UNAUTHENTICATED, "authentication required: send a valid `Authorization: Bearer <token>`"
)


def scope_for_method(method: str) -> str:
    return READ if method.upper() in SAFE_METHODS else WRITE


def scope_for_operation(operation: str) -> str:
    """`query`, `mutation` or `subscription` (graphql-core's operation type values)."""
    return WRITE if operation == "mutation" else READ


def refusal(grant: Grant, needed: str) -> Refusal | None:
    """Why `grant` may not do what needs the scope `needed`; None when it may."""
    if grant.scopes is None:
        return None
    if not grant.authenticated:
        return UNAUTHENTICATED
    if needed not in grant.scopes:
        return Refusal(ErrorCode.FORBIDDEN, f"this token lacks the scope {needed}", needed)
    return None


class Authenticator:
    def __init__(self, tokens: Iterable[AuthToken]) -> None:
        self._tokens = [(t.token.encode(), t.token, t.scopes) for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def grant(self, authorization: object) -> Grant:
        if not self.enabled:
            return OPEN
        if isinstance(authorization, str):
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                presented = token.strip().encode()
                for known, name, scopes in self._tokens:
                    if hmac.compare_digest(known, presented):
                        return Grant(authenticated=True, scopes=scopes, token=name)
        return Grant(authenticated=False, scopes=frozenset())

    def grant_from_params(self, params: Mapping[str, object] | None, fallback: Grant) -> Grant:
        """A token in `connection_init` wins over the upgrade request's header."""
        if not params:
            return fallback
        header = params.get("Authorization", params.get("authorization"))
        return self.grant(header) if header is not None else fallback


__all__ = [
    "OPEN",
    "SAFE_METHODS",
    "UNAUTHENTICATED",
    "Authenticator",
    "Grant",
    "Refusal",
    "refusal",
    "scope_for_method",
    "scope_for_operation",
]
