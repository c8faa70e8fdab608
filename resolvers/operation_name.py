"""A document with several operations must say which one to run.

The GraphQL spec (6.1, GetOperation) makes a missing `operationName` an error when the
document holds more than one operation; Strawberry ran the first one instead, so a client
that sent `mutation A {...} query B {...}` without a name had the mutation executed.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

MESSAGE = "Must provide operation name if query contains multiple operations."


class OperationNameRequired(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # `operation_name` falls back to the first operation's name: read what the client sent.
        provided = getattr(context, "_provided_operation_name", None)
        if provided is None and document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                raise GraphQLError(MESSAGE, operations)
        yield


__all__ = ["MESSAGE", "OperationNameRequired"]
