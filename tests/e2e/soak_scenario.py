"""The crash-recovery soak's scenario: four workflows, a seeded plan, and what each run must end as.

Every run of a plan is deterministic whatever the interleaving and the crashes:

* `deposit`: world → users:{key} (amount), delay, users:{key} → wallet (the same amount: a
  doubled posting would overdraw the user), wait `settle`, wallet → merchant (amount).
* `approval`: wait `approve`, world → users:{key}, delay, wait `confirm`, users:{key} →
  merchant (again the whole balance: doubling it would overdraw).
* `credit`: credit:{key} → wallet with `allowOverdraft` (the only accounts allowed below
  zero), metadata on credit:{key}, delay, wallet → merchant.
* `overdraw`: world → users:{key}, wait `approve`, users:{key} → wallet for one unit more
  than it holds: FAILED at stage 2 with insufficient funds, stage 3 never reached.

Wallets are shared by many runs, but each run takes out of a wallet only what it put in
before, so the wallet always covers it. Events of one run are sent in stage order (an
event with another name arriving first would be consumed as ignored, by design), each at a
random moment: often before its stage is reached.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

ASSET = "USD/2"
WALLETS = 4
MERCHANTS = 3
KEY = "key"
"""The variable that names a run: how the driver finds an instance whose creation was cut off."""

Stage = dict[str, Any]


def account(address: str) -> dict[str, Any]:
    return {"account": {"id": address}}


def wallet(name: str) -> dict[str, Any]:
    return {"wallet": {"name": name}}


def send(
    source: dict[str, Any], destination: dict[str, Any], amount: str, *, overdraft: bool = False
) -> Stage:
    spec: dict[str, Any] = {
        "source": source,
        "destination": destination,
        "amount": {"amount": amount, "asset": ASSET},
        "metadata": {"soak": "${key}"},
    }
    if overdraft:
        spec["allowOverdraft"] = True
    return {"send": spec}


def delay() -> Stage:
    return {"delay": {"duration": "${delay}"}}


def wait(event: str) -> Stage:
    return {"wait_event": {"event": event}}


USER = "users:${key}"
WORLD = account("world")
MERCHANT = account("merchants:${merchant}")

WORKFLOWS: dict[str, list[Stage]] = {
    "deposit": [
        send(WORLD, account(USER), "${amount}"),
        delay(),
        send(account(USER), wallet("${wallet}"), "${amount}"),
        wait("settle"),
        send(wallet("${wallet}"), MERCHANT, "${amount}"),
    ],
    "approval": [
        wait("approve"),
        send(WORLD, account(USER), "${amount}"),
        delay(),
        wait("confirm"),
        send(account(USER), MERCHANT, "${amount}"),
    ],
    "credit": [
        send(account("credit:${key}"), wallet("${wallet}"), "${amount}", overdraft=True),
        {"update": {"account": {"id": "credit:${key}", "metadata": {"limit": "${amount}"}}}},
        delay(),
        send(wallet("${wallet}"), MERCHANT, "${amount}"),
    ],
    "overdraw": [
        send(WORLD, account(USER), "${amount}"),
        wait("approve"),
        send(account(USER), wallet("${wallet}"), "${more}"),
        send(wallet("${wallet}"), MERCHANT, "${amount}"),
    ],
}
WEIGHTS = {"deposit": 4, "approval": 3, "credit": 2, "overdraw": 1}
OVERDRAFT_PREFIX = "credit:"
"""Accounts that may go below zero (their sends say allowOverdraft); and `world`."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds: runs start over `window`; delays and event offsets are drawn from ranges."""

    window: float = 8.0
    delay: tuple[float, float] = (0.1, 1.5)
    event_offset: tuple[float, float] = (0.0, 2.0)
    early_share: float = 0.4
    """Share of events sent at once, before their stage can have been reached."""


@dataclass(frozen=True, slots=True)
class ExpectedPosting:
    stage: int
    source: str
    destination: str
    amount: int


@dataclass(slots=True)
class PlannedRun:
    key: str
    workflow: str
    start_at: float
    variables: dict[str, str]
    events: list[tuple[str, float]]
    """(name, seconds after the run was created), in the order they are sent."""
    fails_at: int | None = None
    """The stage that fails with insufficient funds, or None: SUCCEEDED."""
    postings: list[ExpectedPosting] = field(default_factory=list)

    def wait_stage(self, event: str) -> int:
        return next(
            i for i, s in enumerate(WORKFLOWS[self.workflow]) if s.get("wait_event", {}).get("event") == event
        )


def amount(rng: random.Random) -> int:
    if rng.random() < 0.05:
        return 10**20 + rng.randrange(10**6)  # past 64 bits: BigInt all the way
    return rng.randrange(1, 10_000)


def plan(count: int, *, seed: int, timing: Timing, wallets: dict[str, str]) -> list[PlannedRun]:
    """`wallets`: wallet name → its main account address (`wallets:{id}:main`)."""
    rng = random.Random(seed)
    names, weights = zip(*WEIGHTS.items(), strict=True)
    runs = []
    for i in range(count):
        kind = rng.choices(names, weights)[0]
        value = amount(rng)
        wallet_name = rng.choice(sorted(wallets))
        variables = {
            KEY: f"r{i}",
            "amount": str(value),
            "more": str(value + 1),
            "delay": f"{int(rng.uniform(*timing.delay) * 1000)}ms",
            "wallet": wallet_name,
            "merchant": str(rng.randrange(MERCHANTS)),
        }
        run = PlannedRun(
            key=f"r{i}",
            workflow=kind,
            start_at=rng.uniform(0, timing.window),
            variables=variables,
            events=[(name, _offset(rng, timing)) for name in _event_names(kind)],
        )
        _expect(run, wallets[wallet_name])
        runs.append(run)
    return runs


def _event_names(kind: str) -> list[str]:
    return [s["wait_event"]["event"] for s in WORKFLOWS[kind] if "wait_event" in s]


def _offset(rng: random.Random, timing: Timing) -> float:
    return 0.0 if rng.random() < timing.early_share else rng.uniform(*timing.event_offset)


def _expect(run: PlannedRun, wallet_account: str) -> None:
    v = run.variables
    user, merchant, value = f"users:{v[KEY]}", f"merchants:{v['merchant']}", int(v["amount"])
    p = ExpectedPosting
    if run.workflow == "deposit":
        run.postings = [p(0, "world", user, value), p(2, user, wallet_account, value)]
        run.postings.append(p(4, wallet_account, merchant, value))
    elif run.workflow == "approval":
        run.postings = [p(1, "world", user, value), p(4, user, merchant, value)]
    elif run.workflow == "credit":
        credit = f"credit:{v[KEY]}"
        run.postings = [p(0, credit, wallet_account, value), p(3, wallet_account, merchant, value)]
    else:
        run.postings = [p(0, "world", user, value)]
        run.fails_at = 2


def may_go_negative(address: str) -> bool:
    return address == "world" or address.startswith(OVERDRAFT_PREFIX)


__all__ = [
    "ASSET",
    "KEY",
    "MERCHANTS",
    "WALLETS",
    "WORKFLOWS",
    "ExpectedPosting",
    "PlannedRun",
    "Timing",
    "may_go_negative",
    "plan",
]
