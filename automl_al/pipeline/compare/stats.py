"""The compare study's numbers: pure functions over phase tables (one list of rows per seed).

An arm's runs are ``Sequence[Sequence[Row]]``: one phase table per seed, each row holding at least
``labeled_fraction`` and the compared metric (:func:`automl_al.active.rows.phase_rows`). Nothing
here trains, reads or writes, so every figure in ``summary.csv`` is unit-tested on hand-made rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl_al.active.curves import Row, curve_area, first_reaching

TARGETS = (0.98, 1.0)  # fractions of the full-data score whose label cost is reported

Runs = Sequence[Sequence[Row]]  # one arm: a phase table per seed


def fraction_to_reach(runs: Runs, metric: str, threshold: float) -> float | None:
    """Mean over seeds of the labeled fraction first reaching ``threshold``; None unless every seed
    reached it.

    Averaging only the seeds that reached would crown an arm that got there once in three tries,
    by luck, over one that got there every time a little later.
    """
    reached = [first_reaching(rows, metric, threshold) for rows in runs]
    fractions = [f for f in reached if f is not None]
    if not reached or len(fractions) < len(reached):
        return None
    return float(np.mean(fractions))


def shared_phases(arms: Mapping[str, Runs]) -> int:
    """How many phases every run of every arm reached: the span :func:`area_over_seeds` covers, so
    that an arm stopped early (pool empty, threshold met) is not compared on a shorter curve."""
    return min((len(rows) for runs in arms.values() for rows in runs), default=0)


def area_over_seeds(runs: Runs, metric: str, phases: int) -> tuple[float, float] | None:
    """Mean and SD over seeds of the area under the learning curve (the mean metric over the first
    ``phases`` phases); None when no phase is shared."""
    if not phases:
        return None
    areas = [curve_area(rows, metric, phases) for rows in runs]
    return float(np.mean(areas)), float(np.std(areas))


def phase_table(arms: Mapping[str, Runs], metric: str) -> list[Row]:
    """Phase i of every arm side by side: labeled fraction (the same for every arm, as K is), then
    the mean and SD over seeds of ``metric`` per arm."""
    length = max(len(r) for runs_of_arm in arms.values() for r in runs_of_arm)
    rows: list[Row] = []
    for i in range(length):
        at_i = [r[i] for runs_of_arm in arms.values() for r in runs_of_arm if i < len(r)]
        row: dict[str, float | int | str] = {
            "phase": i + 1,
            "labeled_fraction": float(np.mean([float(r["labeled_fraction"]) for r in at_i])),
        }
        for arm, runs_of_arm in arms.items():
            values = [float(r[i][metric]) for r in runs_of_arm if i < len(r) and metric in r[i]]
            if values:
                row[arm] = float(np.mean(values))
                row[f"{arm}_sd"] = float(np.std(values))
        rows.append(row)
    return rows


@dataclass
class CompareResult:
    metric: str
    reference: float  # the full-data model's score
    runs: dict[str, list[list[Row]]]  # arm -> one phase table per seed
    phases: list[Row]
    summary: list[Row]
    files: list[Path] = field(default_factory=list)

    def fraction_to_reach(self, arm: str, target: float = 0.98) -> float | None:
        """:func:`fraction_to_reach` of ``target`` x the full-data score."""
        return fraction_to_reach(self.runs[arm], self.metric, target * self.reference)

    @property
    def area_phases(self) -> int:
        """:func:`shared_phases` over every arm."""
        return shared_phases(self.runs)

    def curve_area(self, arm: str) -> tuple[float, float] | None:
        """:func:`area_over_seeds` over :attr:`area_phases` phases."""
        return area_over_seeds(self.runs[arm], self.metric, self.area_phases)


def summary_rows(result: CompareResult, seeds: int) -> list[Row]:
    """One row per arm: the fraction to reach each of :data:`TARGETS` (with how many seeds got
    there), the final score and the curve area, each a mean over seeds."""
    rows: list[Row] = []
    for arm, runs in result.runs.items():
        row: dict[str, float | int | str] = {"acquisition": arm}
        for target in TARGETS:
            reached = [first_reaching(r, result.metric, target * result.reference) for r in runs]
            mean = result.fraction_to_reach(arm, target)
            key = f"fraction_to_{round(target * 100)}pct"
            row[key] = "not reached" if mean is None else mean
            row[f"{key}_seeds"] = f"{sum(f is not None for f in reached)}/{seeds}"
        row[f"final_{result.metric}"] = float(np.mean([float(r[-1][result.metric]) for r in runs if r]))
        area = result.curve_area(arm)
        if area is not None:
            row[f"area_{result.metric}"], row[f"area_{result.metric}_sd"] = area
        rows.append(row)
    return rows


def study_metrics(result: CompareResult) -> dict[str, float]:
    """The study's figures as flat metric names (what the parent MLflow run logs)."""
    metrics = {f"full_{result.metric}": result.reference}
    for arm in result.runs:
        for target in TARGETS:
            value = result.fraction_to_reach(arm, target)
            if value is not None:
                metrics[f"{arm}_fraction_to_{round(target * 100)}pct"] = value
        area = result.curve_area(arm)
        if area is not None:
            metrics[f"{arm}_area_{result.metric}"] = area[0]
    return metrics
