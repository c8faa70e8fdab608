"""The typed per-request context every resolver receives as `Info[Context, None]`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from flowql.engine.models import Account, Activity, Instance, Wallet, Workflow
from flowql.engine.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from flowql.engine.runtime import Engine
from flowql.engine.services import StagePage


@dataclass(frozen=True, slots=True)
class Loaders:
    """Batching loaders, built per request: nested fields cost one store query per kind."""

    workflow: DataLoader[str, Workflow | None]
    instance: DataLoader[str, Instance | None]
    workflow_node: DataLoader[str, Any]
    """The same workflows as GraphQL `Workflow` objects: a field can hand its future straight
    to graphql-core (no coroutine per item on a page of 100)."""
    wallet_accounts: DataLoader[Wallet, list[Account]]
    """The accounts behind each wallet's balances: a page of wallets is one store query."""
    stage_history: DataLoader[StagePage, list[Activity]]
    """A page of each stage's history: the stages of a page of instances are one store query."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiLimits:
    max_page_size: int = MAX_PAGE_SIZE
    default_page_size: int = DEFAULT_PAGE_SIZE
    max_depth: int = 12
    max_tokens: int = 4000
    max_aliases: int = 30
    max_selections: int = 1000
    """Fields, spreads and inline fragments per document (fragments counted where spread)."""
    max_cost: int = 50_000
    """Static cost per operation (resolvers/budget.py)."""
    run_wait_timeout: float | None = None
    """Upper bound of `runWorkflow(wait: true)`; None: the engine's run timeout."""


class Catchup(enum.Enum):
    """What a subscriber joining a shared subscription execution late is sent first
    (flowql/fanout.py); a subscription resolver declares it on its context."""

    ALL = "all"
    """Every result so far: the stream is the same for whoever reads it from the start."""
    LATEST = "latest"
    """The latest result: each result is a snapshot of the current state."""
    LIVE = "live"
    """Nothing: the stream is live only."""


@dataclass(eq=False, kw_only=True)
class Context:
    engine: Engine
    loaders: Loaders
    limits: ApiLimits = field(default_factory=ApiLimits)
    store_name: str = "unknown"
    request: Any = None
    """The transport's request (an aiohttp request), for logging only."""
    response: Any = None
    scopes: frozenset[str] | None = None
    """Scopes granted to the caller; None when authentication is off (everything allowed)."""
    authenticated: bool = False
    token: str | None = None
    """The caller's token (the key of per-token limits); None when auth is off."""
    connection_params: dict[str, object] | None = None
    """Set by the WebSocket handlers from `connection_init`."""
    catchup: Catchup | None = None
    """Declared by a subscription resolver; None: late subscribers get their own execution."""


Info = strawberry.Info[Context, None]

__all__ = ["ApiLimits", "Catchup", "Context", "Info", "Loaders"]
