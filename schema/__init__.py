"""flowql.schema: Strawberry types, enums, scalars and schema assembly. No business logic."""

from __future__ import annotations

from .build import ExtensionFactory, build_schema
from .connection import Connection, Edge, PageInfo, connection_of, page_request
from .context import ApiLimits, Catchup, Context, Info, Loaders
from .enums import InstanceStatus, StageKind, StageStatus
from .instance import Instance
from .ledger import Account, Balance, Posting, Wallet, WalletBalance
from .node import Node
from .scalars import JSON, BigInt
from .server_info import ServerInfo, package_version
from .stage import Activity, Stage
from .stage_definition import StageDefinition, definition_of
from .stage_input import StageInput
from .transition import StageTransition
from .trigger import CreateTriggerInput, Trigger, TriggerOccurrence, TriggerTest, TriggerTestVariable
from .workflow import CreateWorkflowInput, Workflow

__all__ = [
    "JSON",
    "Account",
    "Activity",
    "ApiLimits",
    "Balance",
    "BigInt",
    "Catchup",
    "Connection",
    "Context",
    "CreateTriggerInput",
    "CreateWorkflowInput",
    "Edge",
    "ExtensionFactory",
    "Info",
    "Instance",
    "InstanceStatus",
    "Loaders",
    "Node",
    "PageInfo",
    "Posting",
    "ServerInfo",
    "Stage",
    "StageDefinition",
    "StageInput",
    "StageKind",
    "StageStatus",
    "StageTransition",
    "Trigger",
    "TriggerOccurrence",
    "TriggerTest",
    "TriggerTestVariable",
    "Wallet",
    "WalletBalance",
    "Workflow",
    "build_schema",
    "connection_of",
    "definition_of",
    "package_version",
    "page_request",
]
