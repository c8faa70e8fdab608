"""`Query.node` / `Query.nodes`: any object by its global id (see `flowql.schema.node`).

A record id is looked up in every kind at once (one batched lookup per kind, however many
ids `nodes` asks for); an id that names nothing is `null`, not an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from flowql.engine import models
from flowql.engine.errors import ErrorCode, FlowqlError
from flowql.schema import (
    Account,
    Info,
    Instance,
    Node,
    Stage,
    Trigger,
    TriggerOccurrence,
    Wallet,
    Workflow,
)
from flowql.schema.node import AccountKey, RecordKey, StageKey, parse_node_id

MAX_NODES = 100


async def resolve_nodes(info: Info, ids: Sequence[str]) -> list[Node | None]:
    keys = [parse_node_id(i) for i in ids]
    record_ids = [k.id for k in keys if isinstance(k, RecordKey)]
    stage_instances = [k.instance_id for k in keys if isinstance(k, StageKey)]
    engine, loaders = info.context.engine, info.context.loaders
    workflows, instances, triggers, wallets, occurrences = await asyncio.gather(
        loaders.workflow.load_many(record_ids),
        loaders.instance.load_many([*record_ids, *stage_instances]),
        asyncio.gather(*(engine.triggers.find_trigger(i) for i in record_ids)),
        asyncio.gather(*(_wallet(info, i) for i in record_ids)),
        engine.triggers.find_occurrences(record_ids),
    )
    by_id: dict[str, Node] = {}
    by_id.update({m.id: Workflow(model=m) for m in workflows if m is not None})
    by_id.update({m.id: Instance(model=m) for m in instances[: len(record_ids)] if m is not None})
    by_id.update({m.id: Trigger(model=m) for m in triggers if m is not None})
    by_id.update({m.id: Wallet(model=m) for m in wallets if m is not None})
    by_id.update({m.id: TriggerOccurrence(model=m) for m in occurrences.values()})
    stage_owners = {m.id: m for m in instances[len(record_ids) :] if m is not None}
    nodes: list[Node | None] = []
    for key in keys:
        if isinstance(key, RecordKey):
            nodes.append(by_id.get(key.id))
        elif isinstance(key, StageKey):
            owner = stage_owners.get(key.instance_id)
            stage = next((s for s in owner.stages if s.stage == key.index), None) if owner else None
            nodes.append(
                Stage(model=stage, instance_id=owner.id, workflow_id=owner.workflow_id)
                if owner and stage
                else None
            )
        elif isinstance(key, AccountKey):
            nodes.append(await _account(info, key))
        else:
            nodes.append(None)
    return nodes


async def _wallet(info: Info, wallet_id: str) -> models.Wallet | None:
    try:
        return await info.context.engine.ledger.get_wallet(wallet_id)
    except FlowqlError as error:
        if error.code is ErrorCode.NOT_FOUND:
            return None
        raise


async def _account(info: Info, key: AccountKey) -> Account | None:
    try:
        return Account(model=await info.context.engine.ledger.get_account(key.ledger, key.address))
    except FlowqlError as error:
        if error.code is ErrorCode.VALIDATION:  # not an address: names nothing
            return None
        raise


__all__ = ["MAX_NODES", "resolve_nodes"]
