"""`flowql serve`: flags override `FLOWQL_*` environment variables, which override defaults."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence

from aiohttp import web

from flowql.engine.errors import StartRefused

from .config import Config, ConfigError, parse_tokens
from .gc_tuning import freeze_after_startup
from .jsonlog import configure_logging
from .persisted import load_manifest
from .stores import StoreStartupError, store_kind

log = logging.getLogger("flowql")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowql", description="GraphQL gateway over a durable workflow engine"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the API server", description="Each flag is also FLOWQL_<NAME> in the environment."
    )
    serve.add_argument("--host", help="bind address (FLOWQL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (FLOWQL_PORT, default 8080)")
    serve.add_argument(
        "--store", help="sqlite:///path, sqlite:///:memory: or mongodb://host/db (FLOWQL_STORE)"
    )
    serve.add_argument(
        "--store-timeout",
        type=float,
        help="seconds to reach the store at start-up before exiting (FLOWQL_STORE_TIMEOUT, default 10)",
    )
    serve.add_argument("--nats-url", "--nats", dest="nats_url", help="NATS JetStream URL (FLOWQL_NATS_URL)")
    serve.add_argument("--nats-subject", help="subject of incoming events (FLOWQL_NATS_SUBJECT)")
    serve.add_argument(
        "--events-subject",
        help="subject of the orchestration events published (FLOWQL_EVENTS_SUBJECT, default orchestration)",
    )
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (FLOWQL_LOG_LEVEL)")
    serve.add_argument(
        "--auth-token",
        action="append",
        dest="auth_tokens",
        metavar="TOKEN:SCOPES",
        help="enable bearer auth; e.g. s3cret:orchestration:read,orchestration:write; repeatable "
        "(FLOWQL_AUTH_TOKENS, space-separated)",
    )
    serve.add_argument(
        "--trusted-documents",
        metavar="FILE",
        help="run only the documents of this JSON manifest (hash -> document, as graphql-codegen's "
        "client preset or Apollo's manifest tools write it) (FLOWQL_TRUSTED_DOCUMENTS)",
    )
    serve.add_argument(
        "--apq-cache-size",
        type=int,
        help="automatic persisted queries remembered; 0 turns APQ off (FLOWQL_APQ_CACHE_SIZE, default 1000)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="let pages on this origin (e.g. http://localhost:5173) call the API and open its "
        "WebSocket; repeatable (FLOWQL_CORS_ORIGINS, space-separated; default: none)",
    )
    serve.add_argument(
        "--link-origin",
        action="append",
        dest="link_origins",
        metavar="ORIGIN",
        help='let trigger expressions\' link(event, "rel") fetch resources from this origin over '
        "HTTP, as Formance does; repeatable (FLOWQL_LINK_ORIGINS, space-separated; default: none, "
        "links resolve against the embedded ledger's accounts and wallets only)",
    )
    serve.add_argument("--max-page-size", type=int, help="largest `first` accepted (FLOWQL_MAX_PAGE_SIZE)")
    serve.add_argument(
        "--rest-max-page-size",
        type=int,
        help="largest v2 REST pageSize, larger ones capped (FLOWQL_REST_MAX_PAGE_SIZE, default 100)",
    )
    serve.add_argument("--run-timeout", type=float, help="bound of runWorkflow(wait: true), seconds")
    serve.add_argument(
        "--node-id",
        help="this process's name on every JSON log line and in its lease record; unique per "
        "live replica (FLOWQL_NODE_ID, default host:pid)",
    )
    serve.add_argument(
        "--lease-ttl",
        type=float,
        metavar="SECONDS",
        help="MongoDB: how long a replica's instance leases last without a heartbeat, the same on "
        "every replica (FLOWQL_LEASE_TTL, default 15)",
    )
    serve.add_argument(
        "--max-attempts",
        type=int,
        help="bound on an activity's attempts (FLOWQL_MAX_ATTEMPTS; default: none, retried with "
        "backoff 1s x2 up to 100s as Formance does)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        metavar="NAME",
        help="a Host name served besides loopback ones; repeatable (FLOWQL_ALLOWED_HOSTS, space-separated)",
    )
    serve.add_argument(
        "--max-cost", type=int, help="static cost ceiling of a GraphQL operation (FLOWQL_MAX_COST)"
    )
    serve.add_argument(
        "--max-selections", type=int, help="selections per GraphQL document (FLOWQL_MAX_SELECTIONS)"
    )
    serve.add_argument(
        "--max-response-bytes", type=int, help="largest GraphQL response body (FLOWQL_MAX_RESPONSE_BYTES)"
    )
    serve.add_argument(
        "--header-timeout", type=float, help="seconds to send a complete request (FLOWQL_HEADER_TIMEOUT)"
    )
    serve.add_argument(
        "--ws-init-timeout", type=float, help="seconds to send connection_init (FLOWQL_WS_INIT_TIMEOUT)"
    )
    serve.add_argument("--max-websockets", type=int, help="open WebSockets in all (FLOWQL_MAX_WEBSOCKETS)")
    serve.add_argument(
        "--max-subscriptions", type=int, help="open subscriptions in all (FLOWQL_MAX_SUBSCRIPTIONS)"
    )
    serve.add_argument(
        "--max-subscriptions-per-token",
        type=int,
        help="open subscriptions per token (FLOWQL_MAX_SUBSCRIPTIONS_PER_TOKEN)",
    )
    serve.add_argument(
        "--max-driver-failures",
        type=int,
        help="engine failures on one instance before it FAILS (FLOWQL_MAX_DRIVER_FAILURES)",
    )
    serve.add_argument(
        "--metrics-public",
        action="store_const",
        const=True,
        help="serve /metrics without a token when auth is on (FLOWQL_METRICS_PUBLIC)",
    )
    commands.add_parser("sdl", help="print the GraphQL schema (SDL)")
    return parser


def config_from(args: argparse.Namespace) -> Config:
    overrides = {
        "host": args.host,
        "port": args.port,
        "store": args.store,
        "store_timeout": args.store_timeout,
        "nats_url": args.nats_url,
        "nats_subject": args.nats_subject,
        "events_subject": args.events_subject,
        "log_level": args.log_level,
        "max_page_size": args.max_page_size,
        "run_timeout": args.run_timeout,
        "node_id": args.node_id,
        "lease_ttl": args.lease_ttl,
        "max_attempts": args.max_attempts,
        "rest_max_page_size": args.rest_max_page_size,
        "allowed_hosts": tuple(args.allowed_hosts) if args.allowed_hosts else None,
        "max_cost": args.max_cost,
        "max_selections": args.max_selections,
        "max_response_bytes": args.max_response_bytes,
        "header_timeout": args.header_timeout,
        "metrics_public": args.metrics_public,
        "max_driver_failures": args.max_driver_failures,
        "ws_init_timeout": args.ws_init_timeout,
        "max_websockets": args.max_websockets,
        "max_subscriptions": args.max_subscriptions,
        "max_subscriptions_per_token": args.max_subscriptions_per_token,
        "cors_origins": tuple(args.cors_origins) if args.cors_origins else None,
        "link_origins": tuple(args.link_origins) if args.link_origins else None,
        "trusted_documents": args.trusted_documents,
        "apq_cache_size": args.apq_cache_size,
        "auth_tokens": parse_tokens(" ".join(args.auth_tokens), key="--auth-token")
        if args.auth_tokens
        else None,
    }
    return Config.from_env(**overrides)


class StartupError(RuntimeError):
    """The server cannot start; the message is the one line printed."""


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts: a port in use is an
    immediate one-line failure, and the process listens from its first second on."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartupError(f"cannot listen on {host}:{port}: {reason.lower()}") from None
    sock.setblocking(False)
    return sock


def serve(config: Config) -> None:
    from .app import create_app

    configure_logging(config.log_level, node=config.node_id)
    sock = listen(config.host, config.port)

    async def make_app() -> web.Application:
        app = create_app(config)  # inside the loop: drivers may bind to it
        app.on_startup.append(freeze_after_startup)  # after the app's own start-up (cleanup_ctx)
        return app

    log.info("starting flowql", extra={"host": config.host, "port": config.port, "auth": config.auth_enabled})
    try:
        web.run_app(
            make_app(),
            sock=sock,
            shutdown_timeout=config.shutdown_timeout,
            keepalive_timeout=config.header_timeout,
            print=None,
            access_log=logging.getLogger("aiohttp.access"),
        )
    except (KeyboardInterrupt, SystemExit, ConfigError, StoreStartupError):
        raise
    except StartRefused as refused:
        raise StartupError(f"refusing to start: {refused}") from None
    except Exception as error:  # start-up failed (store, NATS...): one line, no traceback
        raise StartupError(f"start-up failed: {_reason(error)}") from None
    finally:
        sock.close()


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sdl":
        from .sdl import print_sdl

        print_sdl()
        return 0
    try:
        config = config_from(args)
        store_kind(config.store)
        if config.trusted_documents:
            load_manifest(config.trusted_documents)
    except (ConfigError, ValueError) as error:
        print(f"flowql: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        serve(config)
    except ConfigError as error:  # found while building the app (a MongoDB URI the driver refuses)
        print(f"flowql: configuration error: {error}", file=sys.stderr)
        return 2
    except StoreStartupError as error:
        print(f"flowql: {error}", file=sys.stderr)
        return 1
    except StartupError as error:
        print(f"flowql: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
