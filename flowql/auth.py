"""Optional bearer-token auth: `orchestration:read` for queries and subscriptions,
`orchestration:write` for mutations. Off unless tokens are configured.

Tokens come from the `Authorization: Bearer <token>` header of the HTTP request (or of the
WebSocket upgrade), or from `connection_init`'s payload `{"Authorization": "Bearer ..."}`.
A missing or unknown token is UNAUTHENTICATED, a token without the scope FORBIDDEN.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from flowql.engine.errors import ErrorCode
from flowql.schema import Context

from .config import READ, WRITE, AuthToken


@dataclass(frozen=True, slots=True)
class Grant:
    authenticated: bool
    scopes: frozenset[str] | None
    """None: auth is off and everything is allowed."""


class Authenticator:
    def __init__(self, tokens: Iterable[AuthToken]) -> None:
        self._tokens = [(t.token.encode(), t.scopes) for t in tokens]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def grant(self, authorization: object) -> Grant:
        if not self.enabled:
            return Grant(authenticated=False, scopes=None)
        if isinstance(authorization, str):
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                presented = token.strip().encode()
                for known, scopes in self._tokens:
                    if hmac.compare_digest(known, presented):
                        return Grant(authenticated=True, scopes=scopes)
        return Grant(authenticated=False, scopes=frozenset())

    def grant_from_params(self, params: Mapping[str, object] | None, fallback: Grant) -> Grant:
        """A token in `connection_init` wins over the upgrade request's header."""
        if not params:
            return fallback
        header = params.get("Authorization", params.get("authorization"))
        return self.grant(header) if header is not None else fallback


def apply(context: Context, grant: Grant) -> None:
    context.authenticated = grant.authenticated
    context.scopes = grant.scopes


class ScopeCheck(SchemaExtension):
    """Refuses an operation whose caller lacks the scope its type needs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.scopes is not None:
            needed = WRITE if self.execution_context.operation_type is OperationType.MUTATION else READ
            if not context.authenticated:
                raise GraphQLError(
                    "authentication required: send a valid `Authorization: Bearer <token>`",
                    extensions={"code": ErrorCode.UNAUTHENTICATED.value},
                )
            if needed not in context.scopes:
                raise GraphQLError(
                    f"this token lacks the scope {needed}",
                    extensions={"code": ErrorCode.FORBIDDEN.value, "scope": needed},
                )
        yield


__all__ = ["Authenticator", "Grant", "ScopeCheck", "apply"]
