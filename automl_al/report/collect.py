"""Read what a run left in its directory into :class:`ReportData` (so a report can be rebuilt, or
built for a run that stopped half way: missing stages are simply empty).

Files read (all optional): ``config.yaml``, ``pipeline.json``, ``search/leaderboard.csv``, the
active-learning state (``state/state.json``), ``final/metrics.json``, ``final/samples.npz``, and
``compare/<acquisition>/seed_<i>/active/phases.csv`` (``automl-al compare`` in the same run_dir).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from automl_al.active.summary import curve_metric
from automl_al.errors import AutomlAlError
from automl_al.pipeline.state import STAGES
from automl_al.report.data import ReportData, Row, SampleSet

# Leaderboard CSV columns shown as they are; every other non-empty column is a parameter.
_LEADERBOARD_FIXED = ("rank", "trial", "state", "value", "epochs", "seconds")
_LEADERBOARD_DROP = ("retry_of",)


def _number(text: str) -> Any:
    """CSV cell -> int / float / str, so tables format numbers as numbers."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_csv_rows(path: Path) -> list[Row]:
    with path.open(newline="") as f:
        return [{k: _number(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def leaderboard_from_csv(path: Path) -> list[Row]:
    """Search leaderboard rows with ``value`` renamed ``score`` and ``seconds`` kept as the time."""
    rows = []
    for raw in read_csv_rows(path):
        row: Row = {"trial": raw.get("trial"), "state": raw.get("state", "")}
        for k, v in raw.items():
            if k not in _LEADERBOARD_FIXED and k not in _LEADERBOARD_DROP:
                row[k.removeprefix("model.").removeprefix("train.")] = v
        row["score"] = raw.get("value")
        row["epochs"] = raw.get("epochs")
        row["seconds"] = raw.get("seconds")
        rows.append(row)
    return rows


def _main_metric(task: str) -> str:
    return "iou" if task == "segmentation" else "balanced_accuracy"


def _active_rows(run_dir: Path) -> list[Row]:
    from automl_al.active.paths import RunPaths
    from automl_al.active.rows import phase_rows
    from automl_al.active.state import StateFile

    state_file = StateFile(RunPaths(run_dir).state_file)
    return [dict(r) for r in phase_rows(state_file.load())] if state_file.exists() else []


def _compare_curves(run_dir: Path) -> dict[str, list[list[Row]]]:
    """Acquisition -> one phase table per seed, from ``compare/<arm>/seed_<i>/active/phases.csv``."""
    curves: dict[str, list[list[Row]]] = {}
    for path in sorted((run_dir / "compare").glob("*/seed_*/active/phases.csv")):
        curves.setdefault(path.parents[2].name, []).append(read_csv_rows(path))
    return curves


def load_samples(path: Path) -> SampleSet:
    with np.load(path, allow_pickle=False) as z:
        return SampleSet(
            ids=[str(i) for i in z["ids"]],
            images=z["images"],
            predictions=z["predictions"],
            scores=z["scores"],
            kinds=[str(k) for k in z["kinds"]],
            uncertainty=z["uncertainty"] if "uncertainty" in z.files else None,
            method=str(z["method"]),
        )


class NothingToReportError(AutomlAlError, FileNotFoundError):
    """The folder holds none of the files a run leaves (see the module docstring)."""


def collect_report_data(run_dir: Path) -> tuple[ReportData, list[str] | None]:
    """ReportData for ``run_dir`` and the class names from its config; a folder where no stage ever
    ran is a :class:`NothingToReportError`, so that no empty report is written into it."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    cfg = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    task = cfg.get("task", "segmentation")
    class_names = (cfg.get("data") or {}).get("class_names")
    data = ReportData(title=f"automl-al report: {cfg.get('name', run_dir.name)}", task=task)
    data.facts["run directory"] = str(run_dir.resolve())
    data.score_name = f"val_{_main_metric(task)}"

    pipeline = run_dir / "pipeline.json"
    if pipeline.is_file():
        state = json.loads(pipeline.read_text())
        if state.get("parent_run_id"):
            data.facts["MLflow run"] = state["parent_run_id"]
        done = state.get("stages", {})  # pipeline.json sorts its keys: show them in run order
        data.facts["stages done"] = ", ".join(s for s in STAGES if s in done) or "none"

    leaderboard = run_dir / "search" / "leaderboard.csv"
    if leaderboard.is_file():
        data.leaderboard = leaderboard_from_csv(leaderboard)

    data.phases = _active_rows(run_dir)
    data.curves = _compare_curves(run_dir)
    if data.phases:
        data.curves.setdefault(str((cfg.get("active") or {}).get("acquisition", "active")), [data.phases])
    data.curve_metric = curve_metric([r for runs in data.curves.values() for rows in runs for r in rows])

    final = run_dir / "final" / "metrics.json"
    if final.is_file():
        summary = json.loads(final.read_text())
        data.test_metrics = {k: v for k, v in summary.get("test", {}).items() if _finite(v)}
        data.class_metrics = summary.get("per_class", {})
        for key in ("model_uri", "registered_model"):
            if summary.get(key):
                data.facts[key.replace("_", " ")] = str(summary[key])
    samples = run_dir / "final" / "samples.npz"
    if samples.is_file():
        data.samples = load_samples(samples)
    if not (pipeline.is_file() or data.leaderboard or data.phases or data.curves or final.is_file()):
        raise NothingToReportError(
            f"{run_dir}: nothing to report: no pipeline.json, search/leaderboard.csv, active-learning state "
            "or final/metrics.json here; give the run_dir of a run (automl-al run, search, learn or compare)"
        )
    return data, class_names


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
