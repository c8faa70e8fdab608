"""Operation depth and alias limits in time linear in the document, fragments measured once.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` walk a fragment again at every
spread. A 1 KB document whose fragment F8 spreads F7 ten times, F7 spreads F6 ten times and
so on (10**8 expansions) kept the event loop busy for minutes, the whole server with it.
Here each fragment is measured once and its measure reused at every spread, with the same
results and messages as Strawberry's rules: depth counts nested fields that have a
selection (introspection fields excluded: graphql-core's `MaxIntrospectionDepthRule` bounds
those) and aliases are counted in every place a fragment is spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int


@dataclass
class _Measurer:
    fragments: dict[str, FragmentDefinitionNode]
    _done: dict[str, Measure] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def selection_set(self, node: SelectionSetNode | None) -> Measure:
        depth = aliases = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                aliases += inner.aliases + (1 if selection.alias else 0)
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        return Measure(depth, aliases)

    def fragment(self, name: str) -> Measure:
        known = self._done.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._active:  # unknown or a cycle: other rules report it
            return Measure(0, 0)
        self._active.add(name)
        measure = self.selection_set(definition.selection_set)
        self._active.discard(name)
        self._done[name] = measure
        return measure


def measure_operations(document: DocumentNode) -> dict[OperationDefinitionNode, Measure]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    measurer = _Measurer(fragments)
    return {
        d: measurer.selection_set(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def document_limits_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    """A validation rule refusing operations deeper than `max_depth` and documents with more
    than `max_aliases` aliases in all (Strawberry's messages, so clients see no change)."""

    class DocumentLimitsRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measures = measure_operations(context.document)
            for operation, measure in measures.items():
                if measure.depth > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, operation))
            aliases = sum(m.aliases for m in measures.values())
            if aliases > max_aliases:
                context.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))

    return DocumentLimitsRule


__all__ = ["Measure", "document_limits_rule", "measure_operations"]
