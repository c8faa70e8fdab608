"""flowql.resolvers: the Query / Mutation / Subscription roots, DataLoaders, error mapping."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)

from flowql.schema import ApiLimits, ExtensionFactory, build_schema

from .errors import INTERNAL_MESSAGE, ErrorMapping, FlowqlSchema, client_error
from .loaders import build_loaders
from .mutation import Mutation
from .query import Query
from .subscription import Subscription


def create_schema(
    limits: ApiLimits | None = None, *, extensions: Sequence[ExtensionFactory] = ()
) -> strawberry.Schema:
    """The flowql schema with error mapping and the document limits; `extensions` run first
    (the gateway's authorization)."""
    limits = limits or ApiLimits()
    return build_schema(
        Query,
        Mutation,
        Subscription,
        extensions=[
            ErrorMapping,
            *extensions,
            lambda: QueryDepthLimiter(max_depth=limits.max_depth),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
            # Clients repeat the same documents: validate each one once. (No ParserCache: it
            # parses inside its hook, so a syntax error would escape the error mapping.)
            lambda: ValidationCache(maxsize=512),
        ],
        schema_class=FlowqlSchema,
    )


__all__ = [
    "INTERNAL_MESSAGE",
    "ErrorMapping",
    "FlowqlSchema",
    "Mutation",
    "Query",
    "Subscription",
    "build_loaders",
    "client_error",
    "create_schema",
]
