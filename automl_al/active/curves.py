"""Learning curves and per-phase tables: metric vs labeled fraction, mean and spread over seeds.

Plain tables in, files out (PNG via matplotlib's Agg canvas, CSV, markdown), so the same code
draws one run's curve (one arm, one seed) and the ``compare`` study (many arms, many seeds).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Row = Mapping[str, float | int | str]


@dataclass(frozen=True)
class CurveStats:
    """One arm's curve per phase position: mean labeled fraction, mean / min / max metric, seeds."""

    fraction: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seeds: np.ndarray


def curve_stats(runs: Sequence[Sequence[Row]], metric: str) -> CurveStats:
    """Aggregate several seeds' phase rows position by position (phase i of every seed together);
    a seed that stopped early simply contributes to fewer positions."""
    length = max((len(r) for r in runs), default=0)
    columns: list[list[float]] = [[] for _ in range(5)]
    for i in range(length):
        points = [(float(r[i]["labeled_fraction"]), float(r[i][metric])) for r in runs if i < len(r) and metric in r[i]]
        points = [(x, y) for x, y in points if math.isfinite(y)]
        if not points:
            continue
        xs, ys = np.array(points).T
        for column, value in zip(columns, (xs.mean(), ys.mean(), ys.min(), ys.max(), len(ys)), strict=True):
            column.append(float(value))
    fraction, mean, low, high, seeds = (np.array(c) for c in columns)
    return CurveStats(fraction, mean, low, high, seeds)


def curves_png(
    arms: Mapping[str, Sequence[Sequence[Row]]],
    metric: str,
    *,
    title: str,
    reference: float | None = None,
    target: float | None = None,
) -> bytes:
    """One line per arm (mean over seeds) with a band from the lowest to the highest seed;
    ``reference`` (e.g. the full-data score) is drawn as a dashed line, ``target`` (a share of
    it, e.g. 0.98) as a dotted one."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, runs in sorted(arms.items()):
        stats = curve_stats(runs, metric)
        if not len(stats.mean):
            continue
        (line,) = ax.plot(stats.fraction, stats.mean, marker="o", markersize=3, label=name)
        if len(runs) > 1:
            ax.fill_between(stats.fraction, stats.low, stats.high, color=line.get_color(), alpha=0.2)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=f"full data ({reference:.3f})")
        if target is not None:
            ax.axhline(target * reference, color="black", linestyle=":", linewidth=1,
                       label=f"{target:.0%} of full data ({target * reference:.3f})")
    if ax.lines:
        ax.legend(fontsize="small")
    ax.set_xlabel("labeled fraction of the pool")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _columns(rows: Sequence[Row]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    return columns


def _text(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def table_csv(rows: Sequence[Row]) -> str:
    """Rows as CSV, columns in first-seen order; floats at full precision."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def table_markdown(rows: Sequence[Row]) -> str:
    """Rows as a GitHub markdown table, floats to 4 decimals."""
    columns = _columns(rows)
    if not columns:
        return "_no phases recorded_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_text(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def first_reaching(rows: Sequence[Row], metric: str, target: float) -> float | None:
    """The labeled fraction of the first phase whose ``metric`` reaches ``target``; None if never."""
    for row in rows:
        value = row.get(metric)
        if value is not None and float(value) >= target:
            return float(row["labeled_fraction"])
    return None


def curve_area(rows: Sequence[Row], metric: str, phases: int) -> float:
    """Mean height of a run's learning curve over its first ``phases`` phases: the trapezoid area
    under ``metric`` vs labeled fraction, divided by the fraction's span (the value itself for one
    phase). Every phase counts towards it, where :func:`first_reaching` hangs on the one phase that
    crosses the target; NaN when a phase lacks ``metric``."""
    if not 1 <= phases <= len(rows):
        raise ValueError(f"curve_area: {phases} phases asked for, the run has {len(rows)}")
    ys = np.array([float(r.get(metric, math.nan)) for r in rows[:phases]])
    if phases == 1:
        return float(ys[0])
    xs = np.array([float(r["labeled_fraction"]) for r in rows[:phases]])
    area = float(np.sum((ys[1:] + ys[:-1]) / 2 * np.diff(xs)))  # trapezoids (np.trapezoid needs numpy 2)
    return area / float(xs[-1] - xs[0])
