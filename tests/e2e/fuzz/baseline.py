"""A well-formed value for every variable name used in graphql/operations, so that the
corpus sweep changes one variable at a time and the others still reach the resolver."""

from __future__ import annotations

import uuid

from .samples import EVENT_TYPE, STAGES, Samples


def baseline(samples: Samples) -> dict[str, object]:
    workflow, instance, trigger = samples.workflows[0], samples.instances[0], samples.triggers[0]
    return {
        "workflowID": workflow,
        "instanceID": instance,
        "triggerID": trigger,
        "walletID": samples.wallets[0],
        "workflow": {"name": "fuzz", "stages": STAGES},
        "trigger": {"name": "t", "event": "NEVER", "workflowID": workflow, "vars": {"a": "string(event.a)"}},
        "variables": {"user": "2", "amount": "5"},
        "wait": False,
        "eventName": "ignored",
        "walletName": f"w-{uuid.uuid4().hex}",
        "ledger": "default",
        "address": "users:1",
        "metadata": {"tier": "gold"},
        "type": f"NO-TRIGGER-{EVENT_TYPE}",
        "payload": {"user": 7, "amount": 1234},
        "version": None,
        "first": 5,
        "after": None,
        "running": None,
        "name": None,
        "stage": 0,
        "nodeID": instance,
        "nodeIDs": [instance, workflow],
        "status": None,
        "createdAfter": None,
        "createdBefore": None,
        "addressPrefix": "users:",
        "account": None,
    }


__all__ = ["baseline"]
