"""flowql.resolvers: the Query / Mutation / Subscription roots, DataLoaders, error mapping."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from graphql import ASTValidationRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter

from flowql.schema import ApiLimits, ExtensionFactory, build_schema

from .budget import Limits, budget_extension
from .caches import CACHE_SIZE, RefusalAwareValidationCache, SafeParserCache
from .errors import INTERNAL_MESSAGE, ErrorMapping, FlowqlSchema, client_error
from .limits import document_limits_rule
from .loaders import build_loaders
from .mutation import Mutation
from .operation_name import OperationNameRequired
from .query import Query
from .subscription import Subscription


def create_schema(
    limits: ApiLimits | None = None, *, extensions: Sequence[ExtensionFactory] = ()
) -> strawberry.Schema:
    """The flowql schema with error mapping and the document limits; `extensions` run first
    (the gateway's authorization)."""
    limits = limits or ApiLimits()
    # Depth and aliases in linear time (Strawberry's limiters re-walk every fragment spread).
    rules: list[type[ASTValidationRule]] = [document_limits_rule(limits.max_depth, limits.max_aliases)]
    # Selections, repeats and cost in one linear pass, before graphql-core's quadratic rules.
    budget = budget_extension(Limits(limits.max_selections, limits.max_cost, limits.default_page_size))
    return build_schema(
        Query,
        Mutation,
        Subscription,
        extensions=[
            ErrorMapping,
            *extensions,
            # The rule classes are made once: the validation cache keys on them.
            lambda: AddValidationRules(rules),
            OperationNameRequired,
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            # Clients repeat the same documents: parse and validate each one once.
            SafeParserCache,
            budget,
            lambda: RefusalAwareValidationCache(maxsize=CACHE_SIZE),
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
