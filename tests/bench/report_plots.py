"""PNG plots for tests/bench/report.py: throughput (left) and latency (right) against N.

One figure per benchmark, one line per series (a system, a phase); both axes logarithmic
when N spans more than a decade, so 1k, 10k and 100k sit evenly apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    style: str = "-"


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    y_label: str
    metrics: list[Metric]
    log_y: bool = False


def plot(
    path: Path,
    title: str,
    rows: list[Row],
    *,
    x: str,
    x_label: str,
    series: Callable[[Row], str],
    panels: list[Panel],
) -> Path | None:
    """Draw `panels` side by side; returns `path`, or None when there is nothing to draw."""
    usable = [r for r in rows if isinstance(r.get(x), int | float)]
    if not usable:
        return None
    names = list(dict.fromkeys(series(r) for r in usable))
    figure, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    xs_all = [float(r[x]) for r in usable]
    for axis, panel in zip(axes[0], panels, strict=True):
        drawn = False
        for number, name in enumerate(names):
            mine = sorted((r for r in usable if series(r) == name), key=lambda r: float(r[x]))
            for m, metric in enumerate(panel.metrics):
                points = [(float(r[x]), float(r[metric.key])) for r in mine if _number(r.get(metric.key))]
                if not points:
                    continue
                label = name if len(panel.metrics) == 1 else metric.label
                if len(names) > 1 and len(panel.metrics) > 1:
                    label = f"{name} {metric.label}"
                # one colour per series and a line style per metric (one series: a colour per
                # metric); value labels alternate above and below the points
                colour = f"C{number}" if len(names) > 1 else f"C{m}"
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, metric.style, color=colour, marker="o", label=label)
                offset = (4, 5) if m % 2 == 0 else (4, -11)
                for px, py in points:
                    axis.annotate(_short(py), (px, py), textcoords="offset points", xytext=offset, fontsize=8)
                drawn = True
        axis.set_title(panel.title)
        axis.set_xlabel(x_label)
        axis.set_ylabel(panel.y_label)
        if max(xs_all) / max(min(xs_all), 1e-9) >= 10:
            axis.set_xscale("log")
        ticks = sorted(set(xs_all))
        axis.set_xticks(ticks, [_short(t) for t in ticks])
        axis.xaxis.set_minor_locator(NullLocator())
        if panel.log_y:
            axis.set_yscale("log")
        else:
            axis.set_ylim(bottom=0)
        axis.grid(True, which="both", alpha=0.3)
        if drawn:
            axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: float) -> str:
    if value >= 1_000 and value % 1_000 == 0:
        return f"{value / 1000:,.0f}k"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


__all__ = ["Metric", "Panel", "plot"]
