"""The GraphQL side of `flowql.auth`: an operation runs only with the scope its type needs."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from flowql.schema import Context

from .auth import Grant, refusal, scope_for_operation


def apply(context: Context, grant: Grant) -> None:
    context.authenticated = grant.authenticated
    context.scopes = grant.scopes
    context.token = grant.token


def grant_of(context: Context) -> Grant:
    return Grant(authenticated=context.authenticated, scopes=context.scopes, token=context.token)


class ScopeCheck(SchemaExtension):
    """Refuses an operation whose caller lacks the scope its type needs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            operation = self.execution_context.operation_type.value
            refused = refusal(grant_of(context), scope_for_operation(operation))
            if refused is not None:
                extensions: dict[str, object] = {"code": refused.code.value}
                if refused.scope:
                    extensions["scope"] = refused.scope
                raise GraphQLError(refused.message, extensions=extensions)
        yield


__all__ = ["ScopeCheck", "apply", "grant_of"]
