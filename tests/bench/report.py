"""Side-by-side benchmark report: every benchmark in one run, a markdown table and PNG plots.

Runs the engine benchmark (flowql and DBOS, engine_bench.py), the GraphQL API benchmark
(api_bench.py), the subscription load benchmark (subscription_load.py) when present, and
the trigger benchmark (trigger_bench.py) at instance counts 1k, 10k and 100k (`--quick`:
1k and 10k), then writes bench-results/report.md and one PNG per benchmark (throughput and
latency against N). The machine, its load before and after, and the commit are recorded.

    python tests/bench/report.py [--quick] [--out bench-results] [--only engine api ...]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests` importable as a script

from tests.bench import report_sections as sections
from tests.bench.report_plots import Metric, Panel, plot
from tests.bench.report_sections import ROOT, Section

BENCHES = ("engine", "api", "subscriptions", "triggers")


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "?",
    )
    kib = next((line.split()[1] for line in _read("/proc/meminfo") if line.startswith("MemTotal")), None)
    memory = f"{int(kib) / 2**20:.0f} GiB" if kib else "?"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    return [
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {memory} memory, Python {platform.python_version()}",
        f"- commit: `{commit or '?'}`, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
    ]


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def nats_up() -> bool:
    """trigger_bench.py starts its own nats-server, or uses FLOWQL_TEST_NATS_URL."""
    from tests.support.services import NATS_URL_VARIABLE, nats_binary

    return bool(os.environ.get(NATS_URL_VARIABLE)) or nats_binary() is not None


def table(section: Section) -> list[str]:
    if not section.rows or not section.columns:
        return []
    lines = ["| " + " | ".join(h for _, h in section.columns) + " |"]
    lines.append("|" + "---|" * len(section.columns))
    for row in section.rows:
        lines.append("| " + " | ".join(_cell(row.get(k)) for k, _ in section.columns) + " |")
    return lines


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def draw(name: str, section: Section, out: Path) -> Path | None:
    latency = "latency (ms, log)"
    if name == "engine":
        return plot(
            out / "engine.png",
            "Engine (SQLite): flowql vs DBOS",
            section.rows,
            x="n",
            x_label="instances (N)",
            series=lambda r: str(r["system"]),
            panels=[
                Panel(
                    "throughput", "instances/s (log)", [Metric("instances_per_s", "instances/s")], log_y=True
                ),
                Panel("run latency", latency, [Metric("p50_ms", "p50"), Metric("p99_ms", "p99", "--")], True),
            ],
        )
    if name == "api":
        return plot(
            out / "api.png",
            "GraphQL API against stored instances",
            section.rows,
            x="n",
            x_label="stored instances (N)",
            series=lambda r: "api",
            panels=[
                Panel("instances(first: 100)", "queries/s (one client)", [Metric("list_per_s", "list")]),
                Panel(
                    "latency",
                    latency,
                    [
                        Metric("list_p50_ms", "list p50"),
                        Metric("list_p99_ms", "list p99", "--"),
                        Metric("event_p50_ms", "sendEvent→seen p50", "-."),
                        Metric("event_p99_ms", "sendEvent→seen p99", ":"),
                    ],
                    log_y=True,
                ),
            ],
        )
    if name == "triggers":
        return plot(
            out / "triggers.png",
            "Trigger dispatch",
            section.rows,
            x="events",
            x_label="events (N)",
            series=lambda r: str(r["phase"]),
            panels=[
                Panel("throughput", "events/s", [Metric("events_per_s", "events/s")]),
                Panel(
                    "dispatch latency",
                    latency,
                    [Metric("p50_ms", "p50"), Metric("p99_ms", "p99", "--")],
                    True,
                ),
            ],
        )
    if name == "subscriptions":
        return plot(
            out / "subscriptions.png",
            "Subscriptions under load",
            section.rows,
            x="subscribers",
            x_label="subscribers (5 per instance)",
            series=lambda r: _rate(r["events_per_s"]),
            panels=[
                Panel("throughput", "transitions delivered/s", [Metric("deliveries_per_s", "deliveries/s")]),
                Panel(
                    "latency",
                    latency,
                    [Metric("delivery_p50_ms", "commit→client p50"), Metric("delivery_p99_ms", "p99", "--")],
                    log_y=True,
                ),
            ],
        )
    return _generic(name, section, out)


def _rate(value: object) -> str:
    return f"sendEvent {value:g}/s" if isinstance(value, int | float) else f"sendEvent {value}"


def _generic(name: str, section: Section, out: Path) -> Path | None:
    """A bench read from JSON: rates (`*_per_s`) and latencies (`*_ms`) against its first count."""
    x = next(
        (k for k in ("n", "instances", "subscribers", "events") if any(k in r for r in section.rows)), None
    )
    keys = {k for row in section.rows for k in row}
    rates = [Metric(k, k) for k in sorted(keys) if k.endswith("_per_s")]
    latencies = [Metric(k, k) for k in sorted(keys) if k.endswith("_ms")]
    panels = [
        p for p in (Panel("throughput", "per second", rates), Panel("latency", "ms", latencies)) if p.metrics
    ]
    if x is None or not panels:
        return None
    return plot(
        out / f"{name}.png", section.title, section.rows, x=x, x_label=x, series=lambda r: name, panels=panels
    )


def write(out: Path, results: list[tuple[str, Section]], header: list[str]) -> Path:
    lines = ["# flowql benchmark report", "", *header, ""]
    for name, section in results:
        lines += [f"## {section.title}", ""]
        lines += table(section)
        image = out / f"{name}.png"
        if image.exists():
            lines += ["", f"![{name}]({image.name})"]
        lines += [""] + [f"- {note}" for note in section.notes]
        lines += [f"- ran in {section.seconds:.0f} s: " + "; ".join(f"`{c}`" for c in section.commands)]
        lines += [f"- **failed**: {error}" for error in section.errors]
        if section.raw and not section.rows:
            lines += ["", "```", section.raw.strip(), "```"]
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="N = 1k and 10k instead of 1k, 10k, 100k")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    parser.add_argument("--counts", type=int, nargs="+", help="instance counts instead (a smoke run)")
    parser.add_argument("--dbos-max", type=int, default=10_000, help="largest N DBOS runs at")
    args = parser.parse_args()
    counts = args.counts or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    args.out.mkdir(parents=True, exist_ok=True)
    began, load_before = time.monotonic(), load()
    runners = {
        "engine": lambda: sections.engine(counts, args.dbos_max),
        "api": lambda: sections.api(counts, args.quick),
        "subscriptions": sections.subscriptions,
        "triggers": lambda: sections.triggers(counts, nats_up()),
    }
    results: list[tuple[str, Section]] = []
    for name in args.only:
        print(f"running {name} ...", flush=True)
        section = runners[name]()
        if section is None:
            print(f"  {name}: no benchmark script here, skipped", flush=True)
            continue
        for error in section.errors:
            print(f"  {name} failed: {error}", flush=True)
        draw(name, section, args.out)
        results.append((name, section))
    header = [
        *machine(),
        f"- load average (1, 5, 15 min): {load_before} before, {load()} after; the machine is shared",
        f"- counts: {', '.join(f'{n:,}' for n in counts)}{' (--quick)' if args.quick else ''}; "
        f"report took {time.monotonic() - began:.0f} s",
    ]
    path = write(args.out, results, header)
    print(f"wrote {path}")
    return 1 if any(section.errors for _, section in results) else 0


if __name__ == "__main__":
    sys.exit(main())
