"""Parse and validate each distinct document once (clients send the same few documents).

Strawberry's `ValidationCache` is keyed by the parsed document object, so it only hits
together with a parser cache. Strawberry's `ParserCache` parses inside its hook, where a
syntax error escapes the operation's error handling; this one lets Strawberry parse that
document again and report the error the usual way.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

CACHE_SIZE = 512


class SafeParserCache(ParserCache):
    def __init__(self, maxsize: int | None = CACHE_SIZE) -> None:
        super().__init__(maxsize=maxsize)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            try:
                context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
            except GraphQLError:
                context.graphql_document = None  # Strawberry parses it and reports the error
        yield


class RefusalAwareValidationCache(ValidationCache):
    """Leaves a document alone that an earlier hook already refused (resolvers/budget.py sets
    `pre_execution_errors`): validating it is the quadratic work that refusal avoids."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()


__all__ = ["CACHE_SIZE", "RefusalAwareValidationCache", "SafeParserCache"]
