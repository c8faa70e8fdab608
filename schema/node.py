"""Relay global object identification: `interface Node { id: ID! }` and the id formats.

Ids are the records' own ids (UUIDs), so the REST API, the store and GraphQL agree on them.
Records without one get a composite id that cannot be mistaken for another kind: a stage
is `{instanceID}:{index}` (like its postings' references), an account `{address}@{ledger}`
(addresses never hold `@`). `Query.node` tells them apart by shape.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import strawberry

_STAGE = re.compile(r"(?P<instance>[^:@]+):(?P<index>0|[1-9][0-9]{0,5})")


@strawberry.interface(description="An object with a globally unique id: refetch it with `node(id)`.")
class Node:
    @strawberry.field
    def id(self) -> strawberry.ID:
        raise NotImplementedError


def stage_id(instance_id: str, index: int) -> strawberry.ID:
    return strawberry.ID(f"{instance_id}:{index}")


def account_id(ledger: str, address: str) -> strawberry.ID:
    return strawberry.ID(f"{address}@{ledger}")


@dataclass(frozen=True, slots=True)
class StageKey:
    instance_id: str
    index: int


@dataclass(frozen=True, slots=True)
class AccountKey:
    ledger: str
    address: str


@dataclass(frozen=True, slots=True)
class RecordKey:
    """A record's own id (workflow, instance, trigger, occurrence, wallet)."""

    id: str


def parse_node_id(node_id: str) -> StageKey | AccountKey | RecordKey | None:
    """What an id names, by its shape; None when it cannot name anything."""
    address, at, ledger = node_id.partition("@")
    if at:
        return AccountKey(ledger, address) if address and ledger else None
    stage = _STAGE.fullmatch(node_id)
    if stage:
        return StageKey(stage["instance"], int(stage["index"]))
    try:
        uuid.UUID(node_id)
    except ValueError:
        return None
    return RecordKey(node_id)


__all__ = ["AccountKey", "Node", "RecordKey", "StageKey", "account_id", "parse_node_id", "stage_id"]
