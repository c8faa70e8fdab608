"""Domain models to Formance Orchestration JSON: one function per shape of the API.

Field names, casing and optional fields follow the Formance OpenAPI documents and the
`formance-sdk-python` models: optional fields are left out rather than sent as null.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowql.engine.clock import to_iso
from flowql.engine.errors import FlowqlError
from flowql.engine.models import (
    Activity,
    Instance,
    StageState,
    Trigger,
    TriggerOccurrence,
    Workflow,
)
from flowql.engine.pagination import Page
from flowql.engine.stages import StageKind, interpolate

if TYPE_CHECKING:
    from flowql.engine.triggers import TriggerTest

JSON = dict[str, Any]

STAGE_WORKFLOW_NAMES: dict[StageKind, str] = {
    StageKind.SEND: "RunSend",
    StageKind.DELAY: "RunDelay",
    StageKind.WAIT_EVENT: "RunWaitEvent",
    StageKind.UPDATE: "RunUpdate",
    StageKind.NOOP: "NoOp",
}
"""Formance runs each stage as a child workflow; its history names the stage by that workflow."""


def _with(body: JSON, **optional: Any) -> JSON:
    """`body` plus each optional field that is not None."""
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


def timestamp(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


def server_info(version: str) -> JSON:
    return {"version": version}


# --- workflows and instances -----------------------------------------------------------


def workflow(model: Workflow) -> JSON:
    """Formance's Workflow; `deletedAt` is always there (null until deleted), as Formance's is."""
    retry = {"maxAttempts": model.config.retry.max_attempts} if model.config.retry else None
    config = _with({"stages": model.config.stages}, name=model.config.name, retry=retry)
    return {
        "id": model.id,
        "config": config,
        "createdAt": timestamp(model.created_at),
        "updatedAt": timestamp(model.updated_at),
        "deletedAt": timestamp(model.deleted_at),
    }


def stage_status(instance_id: str, stage: StageState) -> JSON:
    return _with(
        {"stage": stage.stage, "instanceID": instance_id, "startedAt": timestamp(stage.started_at)},
        terminatedAt=timestamp(stage.terminated_at),
        error=stage.error,
    )


def instance(model: Instance, owner: Workflow | None = None) -> JSON:
    """A workflow instance; `status` is Formance's list of stage statuses."""
    return _with(
        {
            "id": model.id,
            "workflowID": model.workflow_id,
            "createdAt": timestamp(model.created_at),
            "updatedAt": timestamp(model.updated_at),
            "terminated": model.terminated,
            "status": [stage_status(model.id, stage) for stage in model.stages],
        },
        terminatedAt=timestamp(model.terminated_at),
        error=model.error,
        workflow=workflow(owner) if owner is not None else None,
    )


def instance_history(model: Instance, owner: Workflow | None) -> list[JSON]:
    """One entry per stage reached: the stage's child workflow name and its input spec."""
    return [_stage_history(model, stage, owner) for stage in model.stages]


def _stage_history(model: Instance, stage: StageState, owner: Workflow | None) -> JSON:
    return _with(
        {
            "name": STAGE_WORKFLOW_NAMES[stage.kind],
            "input": _stage_input(model, stage, owner),
            "terminated": stage.terminated,
            "startedAt": timestamp(stage.started_at),
        },
        terminatedAt=timestamp(stage.terminated_at),
        error=stage.error,
    )


def _stage_input(model: Instance, stage: StageState, owner: Workflow | None) -> JSON:
    if owner is None or stage.stage >= len(owner.config.stages):
        return {}
    raw = owner.config.stages[stage.stage]
    with suppress(FlowqlError):  # a missing variable failed the stage: show the spec as written
        raw = interpolate(raw, model.variables)
    spec = raw.get(stage.kind.value, {})
    if not isinstance(spec, dict):
        return {}
    if stage.kind is StageKind.SEND:
        return _with_integer_amount(spec)
    return spec


def _with_integer_amount(spec: JSON) -> JSON:
    amount = spec.get("amount")
    if isinstance(amount, dict) and isinstance(amount.get("amount"), str) and amount["amount"].isdigit():
        return spec | {"amount": amount | {"amount": int(amount["amount"])}}
    return spec


# --- stage history (activities) --------------------------------------------------------


def activity(model: Activity, *, v2: bool = True) -> JSON:
    """One activity of a stage, its input and output keyed by the activity's name."""
    output = _activity_output(model, v2=v2)
    return _with(
        {
            "name": model.name,
            "input": _activity_input(model),
            "terminated": model.terminated,
            "startedAt": timestamp(model.started_at),
            "attempt": model.attempt,
        },
        output=output,
        error=model.error,
        terminatedAt=timestamp(model.terminated_at),
        lastFailure=model.last_failure,
        nextExecution=timestamp(model.next_execution),
    )


def _activity_input(model: Activity) -> JSON:
    if model.name == "CreateTransaction":
        return {"CreateTransaction": _create_transaction(model)}
    return {model.name: model.input}


def _activity_output(model: Activity, *, v2: bool) -> JSON | None:
    """Formance's outputs: CreateTransaction's `{data: [transaction]}` (Formance keeps ledger
    v1's list with `txid`), GetWallet's `{data: wallet}`, ListWallets' `{cursor: {..., data}}`
    (balances as numbers). CreditWallet, DebitWallet and AddAccountMetadata answer nothing in
    Formance (no result; an immediate debit makes no hold), so they have no output here."""
    if model.output is None or model.name in {"AddAccountMetadata", "CreditWallet", "DebitWallet"}:
        return None
    if model.name == "GetWallet":
        found = model.output.get("data")
        if not isinstance(found, dict) or "createdAt" not in found:
            return None  # recorded before lookups answered the wallets service's shape
        return {"GetWallet": {"data": _wallet(found)}}
    if model.name == "ListWallets":
        page = model.output.get("cursor")
        if not isinstance(page, dict):
            return None
        return {"ListWallets": {"cursor": page | {"data": [_wallet(w) for w in page.get("data", [])]}}}
    if model.name == "CreateTransaction":
        posting = model.output.get("posting")
        if not isinstance(posting, dict) or posting.get("txid") is None:
            return None  # recorded before postings had transaction ids
        transaction = _with(
            {
                "txid": int(posting["txid"]),
                "postings": [_posting(posting)],
                "metadata": posting.get("metadata", {}),
                "timestamp": posting["timestamp"],
            },
            reference=posting.get("reference"),
        )
        if v2:
            return {"CreateTransaction": {"data": [transaction]}}
        # v1 documents ledger v2's transaction: `id` and `reverted` (Formance keeps both names)
        return {"CreateTransaction": {"data": transaction | {"id": transaction["txid"], "reverted": False}}}
    return {model.name: model.output}


def _create_transaction(model: Activity) -> JSON:
    """Formance's `{ledger, data: PostTransaction}`: as recorded, else from the posting made,
    else from the send spec (histories written before transfers were recorded)."""
    recorded = model.input.get("data")
    if isinstance(recorded, dict) and "ledger" in model.input:
        postings = [_posting(p) for p in recorded.get("postings", [])]
        return {"ledger": model.input["ledger"], "data": recorded | {"postings": postings}}
    posting = (model.output or {}).get("posting")
    if isinstance(posting, dict):
        return {
            "ledger": posting["ledger"],
            "data": _with(
                {
                    "postings": [_posting(posting)],
                    "metadata": posting.get("metadata", {}),
                    "reference": posting["reference"],
                },
                timestamp=posting.get("timestamp"),
            ),
        }
    spec = model.input
    source = (spec.get("source") or {}).get("account")
    destination = (spec.get("destination") or {}).get("account")
    data = _with({"metadata": spec.get("metadata", {})}, timestamp=spec.get("timestamp"))
    body: JSON = {"data": data}
    if isinstance(source, dict):
        body["ledger"] = source.get("ledger", "default")
    amount = spec.get("amount") or {}
    if isinstance(source, dict) and isinstance(destination, dict) and isinstance(amount.get("amount"), int):
        data["postings"] = [
            {
                "source": source["id"],
                "destination": destination["id"],
                "amount": amount["amount"],
                "asset": amount.get("asset"),
            }
        ]
    return body


def _wallet(found: Mapping[str, Any]) -> JSON:
    balances = {
        name: {"assets": {asset: int(amount) for asset, amount in (held.get("assets") or {}).items()}}
        for name, held in (found.get("balances") or {}).items()
    }
    return dict(found) | {"balances": balances}


def _posting(posting: Mapping[str, Any]) -> JSON:
    return {
        "source": posting["source"],
        "destination": posting["destination"],
        "amount": int(posting["amount"]),
        "asset": posting["asset"],
    }


# --- triggers --------------------------------------------------------------------------


def trigger(model: Trigger) -> JSON:
    return _with(
        {
            "id": model.id,
            "event": model.event,
            "workflowID": model.workflow_id,
            "createdAt": timestamp(model.created_at),
        },
        vars=model.vars or None,
        name=model.name,
        version=model.version,
        filter=model.filter,
    )


def occurrence(model: TriggerOccurrence, started: Instance | None = None) -> JSON:
    return _with(
        {
            "id": model.id,
            "triggerID": model.trigger_id,
            "date": timestamp(model.date),
            "event": model.event,
        },
        workflowInstanceID=model.workflow_instance_id,
        workflowInstance=instance(started) if started is not None else None,
        error=model.error,
    )


def trigger_test(result: TriggerTest) -> JSON:
    """`{filter: {match, error}, variables: {name: {value, error}}}`."""
    return {
        "filter": _with({"match": result.match}, error=result.error) if result.has_filter else None,
        "variables": {
            name: _with({}, value=variable.value, error=variable.error)
            for name, variable in result.variables.items()
        },
    }


# --- lists -----------------------------------------------------------------------------


def cursor(page: Page[Any], items: list[JSON], *, next: str | None, previous: str | None) -> JSON:
    """v2 lists: `{cursor: {pageSize, hasMore, previous, next, data}}`."""
    body = _with(
        {"pageSize": page.page_size, "hasMore": page.has_more, "data": items},
        next=next,
        previous=previous,
    )
    return {"cursor": body}


def data(value: Any) -> JSON:
    """v1 bodies and every single-object v2 body: `{data: ...}`."""
    return {"data": value}


__all__ = [
    "STAGE_WORKFLOW_NAMES",
    "activity",
    "cursor",
    "data",
    "instance",
    "instance_history",
    "occurrence",
    "server_info",
    "stage_status",
    "timestamp",
    "trigger",
    "trigger_test",
    "workflow",
]
