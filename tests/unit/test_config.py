from __future__ import annotations

import io
import json
import logging

import pytest

from flowql.app import STATE, create_app
from flowql.cli import build_parser, config_from
from flowql.config import READ, WRITE, AuthToken, Config, ConfigError, parse_tokens
from flowql.jsonlog import JsonFormatter
from flowql.stores import sqlite_path, store_kind


def test_defaults() -> None:
    config = Config.from_env({})
    assert (config.host, config.port, config.store) == ("127.0.0.1", 8080, "sqlite:///./flowql.db")
    assert config.nats_url is None and config.nats_subject == "orchestration.events"
    assert not config.auth_enabled and config.max_page_size == 1000


def test_env_values_are_converted() -> None:
    config = Config.from_env(
        {
            "FLOWQL_PORT": "9000",
            "FLOWQL_STORE": "mongodb://db/flowql",
            "FLOWQL_NATS_URL": "nats://n:4222",
            "FLOWQL_RUN_TIMEOUT": "2.5",
            "FLOWQL_AUTH_TOKENS": "r:orchestration:read w:orchestration:read,orchestration:write",
            "PATH": "/bin",
        }
    )
    assert config.port == 9000 and config.store == "mongodb://db/flowql" and config.run_timeout == 2.5
    assert config.nats_url == "nats://n:4222"
    assert config.auth_tokens == (AuthToken("r", frozenset({READ})), AuthToken("w", frozenset({READ, WRITE})))


def test_unknown_flowql_key_is_rejected_by_name() -> None:
    with pytest.raises(ConfigError, match="FLOWQL_PROT: unknown setting"):
        Config.from_env({"FLOWQL_PROT": "1"})


def test_test_suite_keys_are_not_server_settings() -> None:
    Config.from_env({"FLOWQL_TEST_MONGODB_URI": "mongodb://x", "FLOWQL_SLOW": "1"})


def test_a_crash_point_does_not_stop_serve_from_starting() -> None:
    """engine/faults.py reads FLOWQL_CRASH_AT; `flowql serve` refused to start with it set."""
    Config.from_env({"FLOWQL_CRASH_AT": "after-activity:3"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLOWQL_PORT": "http"}, "FLOWQL_PORT: expected a number"),
        ({"FLOWQL_PORT": "0"}, "port: must be between"),
        ({"FLOWQL_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"FLOWQL_MAX_PAGE_SIZE": "5000"}, "max_page_size"),
        ({"FLOWQL_AUTH_TOKENS": "secret"}, "expected token:scope1,scope2"),
        ({"FLOWQL_AUTH_TOKENS": "secret:admin"}, "unknown scopes"),
        ({"FLOWQL_WS_FANOUT_LINGER": "2"}, "ws_fanout_linger: between 0 and 1 second"),
        ({"FLOWQL_WS_FANOUT_LINGER": "-0.1"}, "ws_fanout_linger"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


def test_a_bad_value_says_where_it_was_set() -> None:
    with pytest.raises(ConfigError) as from_env:
        Config.from_env({"FLOWQL_WS_FANOUT_LINGER": "5"})
    expected = "ws_fanout_linger: between 0 and 1 second, got 5 (set by FLOWQL_WS_FANOUT_LINGER)"
    assert str(from_env.value) == expected
    args = build_parser().parse_args(["serve", "--lease-ttl", "0.5"])
    with pytest.raises(ConfigError) as from_flag:
        config_from(args)
    assert str(from_flag.value).endswith("got 0.5 (set on the command line)"), from_flag.value
    with pytest.raises(ConfigError) as flag_wins:
        Config.from_env({"FLOWQL_PORT": "1"}, port=0)
    assert str(flag_wins.value).endswith("(set on the command line)"), flag_wins.value


def test_cli_flags_override_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWQL_PORT", "9000")
    monkeypatch.setenv("FLOWQL_HOST", "0.0.0.0")
    args = build_parser().parse_args(
        ["serve", "--port", "9100", "--store", "sqlite:///:memory:", "--auth-token", "t:orchestration:read"]
    )
    config = config_from(args)
    assert (config.host, config.port, config.store) == ("0.0.0.0", 9100, "sqlite:///:memory:")
    assert config.auth_tokens == parse_tokens("t:orchestration:read")


def test_store_uris() -> None:
    assert (
        store_kind("sqlite:///./flowql.db") == "sqlite"
        and sqlite_path("sqlite:///./flowql.db") == "./flowql.db"
    )
    assert sqlite_path("sqlite:////var/lib/flowql.db") == "/var/lib/flowql.db"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"
    assert store_kind("mongodb://localhost/flowql") == "mongodb"
    with pytest.raises(ConfigError, match="store: expected"):
        store_kind("postgres://x")


def test_json_log_lines() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("flowql.test.jsonlog")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("hello %s", "world", extra={"instance": "i-1"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "hello world" and first["level"] == "WARNING" and first["instance"] == "i-1"
    assert first["ts"].endswith("+00:00")
    assert "RuntimeError: boom" in second["exc"]


def test_max_attempts_is_unbounded_by_default_and_read_from_the_environment() -> None:
    assert Config.from_env({}).max_attempts is None
    assert Config.from_env({"FLOWQL_MAX_ATTEMPTS": "7"}).max_attempts == 7
    assert Config.from_env({"FLOWQL_MAX_ATTEMPTS": ""}).max_attempts is None
    with pytest.raises(ConfigError, match="max_attempts"):
        Config.from_env({"FLOWQL_MAX_ATTEMPTS": "0"})


def test_store_timeout_is_a_setting() -> None:
    assert Config().store_timeout == 10.0
    args = build_parser().parse_args(["serve", "--store-timeout", "2.5"])
    assert config_from(args).store_timeout == 2.5
    assert Config.from_env({"FLOWQL_STORE_TIMEOUT": "3"}).store_timeout == 3.0
    with pytest.raises(ConfigError, match="store_timeout"):
        Config(store_timeout=0)


@pytest.mark.parametrize(
    ("uri", "shown", "hosts"),
    [
        ("mongodb://ops:hunter2@db:27018/flowql", "mongodb://ops:***@db:27018/flowql", "db:27018"),
        ("mongodb://a,b:27019/x?replicaSet=r", "mongodb://a,b:27019/x?replicaSet=r", "a:27017,b:27019"),
        ("mongodb://u:p%40ss@[::1]/x", "mongodb://u:***@[::1]/x", "[::1]:27017"),
        ("mongodb+srv://u:p@cluster.example/x", "mongodb+srv://u:***@cluster.example/x", "cluster.example"),
    ],
)
def test_store_uris_are_shown_without_passwords(uri: str, shown: str, hosts: str) -> None:
    from flowql.stores import mongo_hosts, redact

    assert redact(uri) == shown
    assert mongo_hosts(uri) == hosts


def test_node_id_names_the_process_on_every_log_line() -> None:
    import os
    import socket

    assert Config.from_env({}).node_id == f"{socket.gethostname()}:{os.getpid()}"
    assert config_from(build_parser().parse_args(["serve", "--node-id", "b"])).node_id == "b"
    with pytest.raises(ConfigError, match="node_id: 1 to 200 printable characters"):
        Config.from_env({"FLOWQL_NODE_ID": ""})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(node="replica-a"))
    logger = logging.getLogger("flowql.test.jsonlog.node")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("hello")
    finally:
        logger.removeHandler(handler)
    assert json.loads(stream.getvalue())["node"] == "replica-a"


def test_lease_ttl_is_a_flag_and_an_environment_variable() -> None:
    assert Config.from_env({}).lease_ttl == 15.0
    assert Config.from_env({"FLOWQL_LEASE_TTL": "3"}).lease_ttl == 3.0
    parsed = build_parser().parse_args(["serve", "--lease-ttl", "2.5"])
    assert config_from(parsed).lease_ttl == 2.5
    for bad in ("0.5", "3601"):
        with pytest.raises(ConfigError, match="lease_ttl: must be between 1 and 3600 seconds"):
            Config.from_env({"FLOWQL_LEASE_TTL": bad})


@pytest.mark.parametrize(("env", "linger"), [({}, 0.1), ({"FLOWQL_WS_FANOUT_LINGER": "0"}, 0.0)])
def test_the_fanout_linger_reaches_the_pump(env: dict[str, str], linger: float) -> None:
    app = create_app(Config.from_env(env))
    assert app[STATE].view.fanout.pump.linger == linger
