"""One function per benchmark for tests/bench/report.py: run the script, read its figures.

Each bench runs as its own process (its own peak RSS, no state shared between them). A
script with a `--json` mode is read from its JSON; the others from their printed lines,
whose formats are matched here. A bench that fails or is missing becomes a section that
says so; the report goes on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parents[1]
Row = dict[str, Any]


@dataclass(slots=True)
class Section:
    title: str
    x_label: str = "instances"
    rows: list[Row] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)
    """(row key, column heading) of the markdown table."""
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: str = ""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def run(section: Section, script: str, *args: str, timeout: float = 3600) -> str | None:
    """Run one bench script; its stdout, or None after recording the failure."""
    command = [sys.executable, str(BENCH / script), *args]
    section.commands.append(" ".join(["python", f"tests/bench/{script}", *args]))
    began = time.monotonic()
    try:
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        section.errors.append(f"`{script} {' '.join(args)}` did not finish within {timeout:.0f} s")
        return None
    finally:
        section.seconds += time.monotonic() - began
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        section.errors.append(f"`{script} {' '.join(args)}` exited with {out.returncode}: {tail}")
        return None
    return out.stdout


def has_json_mode(script: str) -> bool:
    out = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return "--json" in out.stdout


# --- engine (flowql and DBOS) -----------------------------------------------------------


def engine(counts: list[int], dbos_max: int) -> Section:
    section = Section(
        "Engine: N instances of send → update → send on SQLite, flowql and DBOS",
        columns=[
            ("system", "system"),
            ("n", "N"),
            ("instances_per_s", "instances/s"),
            ("transitions_per_s", "transitions/s"),
            ("us_per_transition", "µs/transition"),
            ("p50_ms", "p50 run ms"),
            ("p99_ms", "p99 run ms"),
            ("peak_rss_mb", "peak RSS MB"),
            ("ratio", "flowql/DBOS"),
        ],
    )
    with_dbos = [n for n in counts if n <= dbos_max]
    without = [n for n in counts if n > dbos_max]
    ratios: dict[str, float] = {}
    for ns, extra in ((with_dbos, []), (without, ["--skip-dbos"])):
        if not ns:
            continue
        out = run(section, "engine_bench.py", "--json", "--n", *map(str, ns), *extra)
        if out is None:
            continue
        data = json.loads(out.strip().splitlines()[-1])
        section.rows.extend(data["results"])
        ratios.update(data["ratios"])
        section.notes.append(f"DBOS mode: {data['dbos_mode']} (a DBOS queue, worker_concurrency=512)")
    for row in section.rows:
        if row.get("system") == "flowql" and str(row["n"]) in ratios:
            row["ratio"] = ratios[str(row["n"])]
    if without:
        section.notes.append(
            f"DBOS not run above N = {dbos_max:,} (at its rate that run alone would take hours); "
            "`--dbos-max` changes it."
        )
    section.notes = sorted(set(section.notes))
    return section


# --- GraphQL API ------------------------------------------------------------------------

PERCENTILES = re.compile(r"p50 ([\d.]+) ms\s+p99 ([\d.]+) ms\s+mean ([\d.]+) ms")


def api(counts: list[int], quick: bool) -> Section | None:
    if not (BENCH / "api_bench.py").exists():
        return None
    section = Section(
        "GraphQL API over HTTP and WebSocket, against N stored instances",
        x_label="stored instances",
        columns=[
            ("n", "stored N"),
            ("list_per_s", "list queries/s"),
            ("list_p50_ms", "list p50 ms"),
            ("list_p99_ms", "list p99 ms"),
            ("event_p50_ms", "sendEvent→seen p50 ms"),
            ("event_p99_ms", "sendEvent→seen p99 ms"),
            ("burst_p99_ms", "burst sendEvent→seen p99 ms"),
            ("fanout_p99_ms", "fan-out p99 ms"),
            ("kb_per_subscriber", "KB/subscriber"),
        ],
    )
    # Subscriber fan-out at scale is subscription_load.py's job: a moderate load here.
    concurrent = "100" if quick else "200"
    load = ["--rounds", "200", "--concurrent", concurrent, "--subscribers", "200", "--events", "10"]
    section.notes.append(
        "list: `instances(first: 100)` with workflow and stages, one client in sequence; "
        "sendEvent→seen: until a WebSocket subscriber gets the transition (one event at a time; "
        "burst: to every waiting instance at once); fan-out: delivery to each of 200 subscribers "
        "of one instance. Client and server share the 2 CPUs."
    )
    for n in counts:
        out = run(section, "api_bench.py", "--instances", str(n), *load, timeout=1200)
        if out is None:
            continue
        section.raw += out
        row: Row = {"n": n}
        for line in out.splitlines():
            found = PERCENTILES.search(line)
            if found is None:
                continue
            p50, p99, mean = (float(v) for v in found.groups())
            if line.startswith("instances("):
                row |= {"list_p50_ms": p50, "list_p99_ms": p99, "list_per_s": round(1000 / mean, 1)}
            elif line.startswith("sendEvent") and "all sent at once" in line:
                row |= {"burst_p50_ms": p50, "burst_p99_ms": p99}
            elif line.startswith("sendEvent"):
                row |= {"event_p50_ms": p50, "event_p99_ms": p99}
            elif "subscribers" in line:
                row |= {"fanout_p50_ms": p50, "fanout_p99_ms": p99}
                kb = re.search(r"RSS \+([\d.-]+) KB", line)
                row["kb_per_subscriber"] = float(kb.group(1)) if kb else None
        section.rows.append(row)
    return section


# --- subscriptions under load (tests/bench/subscription_load.py) ------------------------


SUBSCRIPTION_SIZES = ((200, 40), (1000, 200))
"""(subscribers, instances): the small size and the issue's 1,000 subscribers on 200 instances."""


def subscriptions() -> Section | None:
    """Every size at a paced rate and in a burst; deliveries/s are live transitions over the
    time spent driving the instances."""
    script = "subscription_load.py"
    if not (BENCH / script).exists():
        return None
    section = Section(
        "Subscriptions under load: WebSocket subscribers while instances run",
        x_label="subscribers",
        columns=[
            ("subscribers", "subscribers"),
            ("instances", "instances"),
            ("events_per_s", "sendEvent rate"),
            ("live_transitions", "live transitions"),
            ("deliveries_per_s", "deliveries/s"),
            ("delivery_p50_ms", "commit→client p50 ms"),
            ("delivery_p99_ms", "commit→client p99 ms"),
            ("event_p99_ms", "sendEvent→client p99 ms"),
            ("kb_per_subscriber", "KB/subscriber"),
            ("subscriptions_open_after", "subscriptions open after"),
            ("tasks_idle_after", "tasks idle/after"),
            ("failures", "failures"),
        ],
        notes=["10 % of subscribers abort without a close; the last columns are /metrics after."],
    )
    if not has_json_mode(script):
        section.raw = run(section, script) or ""
        return section
    for subscribers, instances in SUBSCRIPTION_SIZES:  # both are quick enough for --quick
        out = run(section, script, "--json", "--subscribers", str(subscribers), "--instances", str(instances))
        if out is None:
            continue
        for row in json.loads(out.strip().splitlines()[-1]):
            drive = (row.get("seconds") or {}).get("drive")
            if drive:
                row["deliveries_per_s"] = round(row["live_transitions"] / drive, 1)
            section.rows.append(row)
    return section


def _help(script: str) -> str:
    out = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return out.stdout


# --- triggers ---------------------------------------------------------------------------

TRIGGER_LINE = re.compile(
    r"^(?P<phase>\S.*?)\s+(?P<events>\d+) events in\s+(?P<seconds>[\d.]+)s:\s+(?P<rate>[\d.]+) events/s"
    r".*?latency p50\s+(?P<p50>[\d.]+) ms, p99\s+(?P<p99>[\d.]+) ms, (?P<occurrences>\d+) occurrences"
)


def triggers(counts: list[int], nats: bool) -> Section:
    section = Section(
        "Triggers: 100 triggers on 10 event types, CEL filters, dispatch to workflows",
        x_label="events",
        columns=[
            ("phase", "phase"),
            ("events", "events"),
            ("events_per_s", "events/s"),
            ("p50_ms", "p50 ms"),
            ("p99_ms", "p99 ms"),
            ("occurrences", "occurrences"),
        ],
    )
    if not nats:
        section.notes.append(
            "NATS phases skipped: no nats-server (apt-get install nats-server), no FLOWQL_TEST_NATS_URL."
        )
    for n in counts:
        out = run(section, "trigger_bench.py", "--events", str(n), *([] if nats else ["--skip-nats"]))
        if out is None:
            continue
        section.raw += out
        for line in out.splitlines():
            found = TRIGGER_LINE.match(line)
            if found:
                section.rows.append(
                    {
                        "phase": found["phase"],
                        "events": int(found["events"]),
                        "events_per_s": float(found["rate"]),
                        "p50_ms": float(found["p50"]),
                        "p99_ms": float(found["p99"]),
                        "occurrences": int(found["occurrences"]),
                    }
                )
    section.notes.append(
        "A `nats backlog` phase drains events published beforehand: its latency is the mean time per event."
    )
    return section


__all__ = ["Section", "api", "engine", "has_json_mode", "subscriptions", "triggers"]
