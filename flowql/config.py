"""Process configuration: a frozen dataclass from `FLOWQL_*` variables, then CLI flags.

`Config.from_env()` rejects unknown `FLOWQL_*` keys (a typo must not silently fall back to
a default). Variables under `FLOWQL_TEST_` and the few dev-tool keys in `IGNORED` belong to
the test suite and tools, not to the server, and are skipped.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .cors import normalize_origins

READ = "orchestration:read"
WRITE = "orchestration:write"
SCOPES = frozenset({READ, WRITE})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PREFIX = "FLOWQL_"
IGNORED = frozenset({"FLOWQL_SLOW", "FLOWQL_CHROMIUM", "FLOWQL_CRASH_AT"})
"""FLOWQL_CRASH_AT arms a named crash point in engine/faults.py (recovery tests of a served process)."""


MIN_LEASE_TTL = 1.0
MAX_LEASE_TTL = 3600.0


def default_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ConfigError(ValueError):
    """A configuration value is unknown or malformed; the message names the key."""


@dataclass(frozen=True, slots=True)
class AuthToken:
    token: str
    scopes: frozenset[str]

    @classmethod
    def parse(cls, text: str, *, key: str = "auth token") -> AuthToken:
        """`token:scope1,scope2` with scopes among orchestration:read / orchestration:write."""
        # Scopes hold colons themselves (`orchestration:read`): the token ends at the first one.
        token, sep, scopes_text = text.strip().partition(":")
        scopes = frozenset(s.strip() for s in scopes_text.split(",") if s.strip())
        if not token or not sep or not scopes:
            raise ConfigError(f"{key}: expected token:scope1,scope2, got {text!r}")
        unknown = scopes - SCOPES
        if unknown:
            raise ConfigError(f"{key}: unknown scopes {sorted(unknown)} (known: {sorted(SCOPES)})")
        return cls(token, scopes)


def parse_tokens(text: str, *, key: str = "FLOWQL_AUTH_TOKENS") -> tuple[AuthToken, ...]:
    """Tokens separated by whitespace or `;`."""
    return tuple(AuthToken.parse(part, key=key) for part in text.replace(";", " ").split())


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    store: str = "sqlite:///./flowql.db"
    store_timeout: float = 10.0
    """Seconds to reach the store at start-up (and a MongoDB server on each call) before failing."""
    nats_url: str | None = None
    nats_subject: str = "orchestration.events"
    events_subject: str = "orchestration"
    """Subject of Formance's orchestration events out (STARTED_WORKFLOW...), with `nats_url`."""
    log_level: str = "INFO"
    auth_tokens: tuple[AuthToken, ...] = field(default=(), repr=False)
    max_page_size: int = 1000
    max_depth: int = 12
    max_tokens: int = 4000
    max_aliases: int = 30
    max_selections: int = 1000
    """Fields, fragment spreads and inline fragments per GraphQL document."""
    max_cost: int = 50_000
    """Static cost ceiling of a GraphQL operation (page sizes multiply nested lists)."""
    max_response_bytes: int = 16 * 2**20
    allowed_hosts: tuple[str, ...] = ()
    """Host names served besides loopback ones (DNS rebinding guard)."""
    header_timeout: float = 10.0
    """Seconds a connection may take to send a complete request (slowloris), also the
    idle keep-alive time."""
    ws_init_timeout: float = 5.0
    """Seconds a WebSocket may take to send `connection_init` (then closed with 4408)."""
    max_websockets: int = 10_000
    max_subscriptions: int = 10_000
    """Open GraphQL subscriptions in total."""
    max_subscriptions_per_token: int = 1_000
    """Open GraphQL subscriptions per bearer token (auth on)."""
    max_driver_failures: int = 10
    """Unexpected engine failures on one instance before it FAILS with INTERNAL."""
    metrics_public: bool = False
    """With auth on, /metrics needs orchestration:read unless this is set."""
    run_timeout: float = 30.0
    ws_heartbeat: float = 15.0
    """Seconds between WebSocket pings (a dead peer is dropped after a missed pong)."""
    ws_outbound_limit: int = 64 * 1024
    """Bytes a WebSocket may leave unread before it is closed with 1013 (flowql/ws_outbox.py)."""
    ws_pong_timeout: float = 2.0
    """Seconds a WebSocket that is sent a lot may leave a ping unanswered before it is closed
    with 1013 (flowql/ws_outbox.py)."""
    ws_fanout_linger: float = 0.1
    """Seconds a result shared by 256 subscribers or more waits for its execution's next one,
    so each socket takes both in one write (flowql/fanout_pump.py); 0 writes at once."""
    shutdown_timeout: float = 10.0
    node_id: str = field(default_factory=lambda: default_node_id())
    """This process's name on every JSON log line and in its lease record (default host:pid)."""
    lease_ttl: float = 15.0
    """Seconds an instance lease lasts without a heartbeat (shared store); the same on every
    replica."""
    max_attempts: int | None = None
    """Bound on an activity's attempts; None retries until success, as Formance does."""
    rest_max_page_size: int = 100
    """Largest v2 REST `pageSize`; a larger one is capped, as Formance's go-libs cap it."""
    apq_cache_size: int = 1000
    """Automatic persisted queries remembered (LRU); 0 turns APQ off."""
    trusted_documents: str | None = None
    """A JSON manifest (hash -> document): only those documents run."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins (`https://app.example.com`) allowed to call the API and open its
    WebSocket; none by default (same-origin pages always may)."""

    link_origins: tuple[str, ...] = ()
    """Origins a trigger's `link()` may fetch over HTTP (as Formance does); none by default:
    links then resolve against the embedded ledger's accounts and wallets only."""

    def __post_init__(self) -> None:
        if not self.node_id or len(self.node_id) > 200 or not self.node_id.isprintable():
            raise ConfigError("node_id: 1 to 200 printable characters")
        if not MIN_LEASE_TTL <= self.lease_ttl <= MAX_LEASE_TTL:
            raise ConfigError(
                f"lease_ttl: must be between {MIN_LEASE_TTL:g} and {MAX_LEASE_TTL:g} seconds, "
                f"got {self.lease_ttl:g}"
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: must be between 1 and 65535, got {self.port}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"log_level: one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not 1 <= self.max_page_size <= 1000:
            raise ConfigError(f"max_page_size: must be between 1 and 1000, got {self.max_page_size}")
        if self.ws_outbound_limit < 1024:
            raise ConfigError(f"ws_outbound_limit: at least 1024 bytes, got {self.ws_outbound_limit}")
        positive: tuple[str, ...] = ("max_depth", "max_tokens", "max_aliases", "max_selections", "max_cost")
        positive += ("max_response_bytes", "max_driver_failures", "max_websockets", "max_subscriptions")
        positive += ("max_subscriptions_per_token",)
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be positive")
        if not 1 <= self.rest_max_page_size <= 1000:
            raise ConfigError(
                f"rest_max_page_size: must be between 1 and 1000, got {self.rest_max_page_size}"
            )
        if not 0 <= self.ws_fanout_linger <= 1:
            raise ConfigError(f"ws_fanout_linger: between 0 and 1 second, got {self.ws_fanout_linger:g}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ConfigError(f"max_attempts: must be at least 1, got {self.max_attempts}")
        timeouts: tuple[str, ...] = ("run_timeout", "ws_heartbeat", "shutdown_timeout", "header_timeout")
        timeouts += ("ws_init_timeout", "ws_pong_timeout")
        for name in (*timeouts, "store_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if not 0 <= self.apq_cache_size <= 100_000:
            raise ConfigError(f"apq_cache_size: must be between 0 and 100000, got {self.apq_cache_size}")
        for name in ("cors_origins", "link_origins"):
            try:
                object.__setattr__(self, name, normalize_origins(getattr(self, name)))
            except ValueError as error:
                raise ConfigError(f"{name}: {error}") from None

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_tokens)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Read `FLOWQL_<FIELD>` (e.g. FLOWQL_PORT, FLOWQL_AUTH_TOKENS); `overrides` (CLI flags
        that were given) win over the environment."""
        environ = os.environ if environ is None else environ
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in environ.items():
            if not key.startswith(PREFIX) or key in IGNORED or key.startswith("FLOWQL_TEST_"):
                continue
            name = key.removeprefix(PREFIX).lower()
            if name not in fields:
                known = ", ".join(PREFIX + n.upper() for n in fields)
                raise ConfigError(f"{key}: unknown setting (known: {known})")
            values[name] = _convert(name, key, raw, fields[name].type)
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(str(error)) from None
        except ConfigError as error:
            raise ConfigError(_with_source(str(error), given, values)) from None


def _with_source(message: str, flags: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """`ws_fanout_linger: ...` also says where the value came from (a field's name is not
    what a user typed): `(set on the command line)` for one of `flags`, `(set by
    FLOWQL_WS_FANOUT_LINGER)` for one of the other `values`, read from the environment."""
    name = message.partition(":")[0]
    if name in flags:
        return f"{message} (set on the command line)"
    if name in values:
        return f"{message} (set by {PREFIX}{name.upper()})"
    return message


def _convert(name: str, key: str, raw: str, annotation: object) -> Any:
    if name == "auth_tokens":
        return parse_tokens(raw, key=key)
    if name == "nats_url":
        return raw or None
    if name == "trusted_documents":
        return raw or None
    if name in ("cors_origins", "link_origins"):
        return tuple(raw.split())
    kind = str(annotation)
    if kind.endswith(" | None"):
        if not raw:
            return None
        kind = kind.removesuffix(" | None")
    if kind == "tuple[str, ...]":
        return tuple(part for part in raw.replace(",", " ").split() if part)
    if kind == "bool":
        text = raw.strip().lower()
        if text not in {"1", "true", "yes", "0", "false", "no", ""}:
            raise ConfigError(f"{key}: expected true or false, got {raw!r}")
        return text in {"1", "true", "yes"}
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{key}: expected a number, got {raw!r}") from None
    return raw


__all__ = ["READ", "SCOPES", "WRITE", "AuthToken", "Config", "ConfigError", "parse_tokens"]
