"""``run_compare``: S1's study in one call: several acquisition functions x several seeds.

Every arm x seed is a full :func:`run_active` in its own sub run directory
(``<run_dir>/compare/<arm>/seed_<i>``), so an interrupted study resumes arm by arm. All runs share
one decoded dataset (the same test set), and for a given seed every arm starts from the same
initial labeled set (it is drawn from the seed alone). An arm is an acquisition name, optionally
with ``+kcenter`` (``mi+kcenter``: mi with ``active.diversity: kcenter``), so top-K and k-center
batches of one heuristic compare in one study. The full-data model (trained on the whole
pool) is the ceiling: for each arm the study reports the labeled fraction at which it first
reaches 98 % and 100 % of the full-data score, and the area under its learning curve (the mean
score over the phases every run reached), which every phase counts towards: the first crossing of
a target hangs on the one phase (one model per seed) that crosses it.

Outputs in ``<run_dir>/compare/``: ``curves.png`` (mean and min-max band per arm),
``phases.csv/.md`` (metric per phase per arm), ``summary.csv/.md`` (label efficiency per arm),
all logged to one MLflow parent run with the arm runs nested under it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from automl_al.active.acquisition import available_acquisitions
from automl_al.active.architecture import resolve_architecture
from automl_al.active.curves import Row, curve_area, curves_png, first_reaching, table_csv, table_markdown
from automl_al.active.learner import PrefixedTracker
from automl_al.active.run import run_active
from automl_al.config import ActiveConfig, Config, ConfigError, Task
from automl_al.models import check_pretrained
from automl_al.tracking import NullTracker, Tracker
from automl_al.training.metrics import SUMMARY_METRICS
from automl_al.utils import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from automl_al.data import PreparedData

TARGETS = (0.98, 1.0)  # fractions of the full-data score whose label cost is reported


@dataclass
class CompareResult:
    metric: str
    reference: float  # the full-data model's score
    runs: dict[str, list[list[Row]]]  # arm -> one phase table per seed
    phases: list[Row]
    summary: list[Row]
    files: list[Path] = field(default_factory=list)

    def fraction_to_reach(self, arm: str, target: float = 0.98) -> float | None:
        """Mean over seeds of the labeled fraction first reaching ``target`` x the full-data score;
        None unless every seed reached it.

        Averaging only the seeds that reached would crown an arm that got there once in three
        tries, by luck, over one that got there every time a little later.
        """
        reached = [first_reaching(rows, self.metric, target * self.reference) for rows in self.runs[arm]]
        if not reached or any(f is None for f in reached):
            return None
        return float(np.mean(reached))

    @property
    def area_phases(self) -> int:
        """How many phases every run of every arm reached: the span :meth:`curve_area` covers, so
        that an arm stopped early (pool empty, threshold met) is not compared on a shorter curve."""
        return min((len(rows) for runs in self.runs.values() for rows in runs), default=0)

    def curve_area(self, arm: str) -> tuple[float, float] | None:
        """Mean and SD over seeds of the area under the arm's learning curve (the mean metric over
        :attr:`area_phases` phases); None when no phase is shared."""
        if not self.area_phases:
            return None
        areas = [curve_area(rows, self.metric, self.area_phases) for rows in self.runs[arm]]
        return float(np.mean(areas)), float(np.std(areas))


ARM_OPTIONS = {"kcenter": {"diversity": "kcenter"}}  # "mi+kcenter": mi with k-center batches


def arm_settings(arm: str) -> dict[str, str]:
    """The ``active`` keys an arm sets: ``mi`` -> acquisition mi (the config's diversity);
    ``mi+kcenter`` -> acquisition mi, diversity kcenter. Raises ValueError for an unknown option."""
    acquisition, *options = arm.split("+")
    settings = {"acquisition": acquisition}
    for option in options:
        if option not in ARM_OPTIONS:
            raise ValueError(f"unknown option {option!r} in arm {arm!r}; options: {', '.join(ARM_OPTIONS)}")
        settings.update(ARM_OPTIONS[option])
    return settings


def check_compare_args(cfg: Config, acquisitions: Sequence[str], seeds: int, metric: str | None) -> str:
    """Refuse a bad study before anything is opened or trained (the CLI calls it before the tracker);
    returns the metric to compare, ``metric`` or :func:`default_metric` of the task."""
    try:
        settings = {arm: arm_settings(arm) for arm in acquisitions}
    except ValueError as e:
        raise ConfigError(f"--acquisition: {e}") from e
    unknown = [a for a, s in settings.items() if s["acquisition"] not in available_acquisitions()]
    if unknown:
        raise ConfigError(
            f"unknown acquisition(s) {unknown} for --acquisition; valid names: {', '.join(available_acquisitions())}, "
            f"each optionally with {', '.join('+' + o for o in ARM_OPTIONS)}"
        )
    for arm, arm_active in settings.items():
        try:
            ActiveConfig.model_validate({**cfg.active.model_dump(), **arm_active})
        except ValidationError as e:
            raise ConfigError(f"--acquisition arm {arm!r}: {e.errors()[0]['msg']}") from e
    if not acquisitions or len(set(acquisitions)) != len(acquisitions):
        raise ConfigError(f"--acquisition needs distinct names, got {list(acquisitions)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    if cfg.active.oracle != "simulated":
        raise ConfigError("compare needs active.oracle: simulated (every arm must be labeled automatically)")
    metric = metric or default_metric(cfg.task)
    valid = [f"{split}_{name}" for split in ("test", "val") for name in SUMMARY_METRICS[cfg.task]]
    if metric not in valid:  # per-class ones (test_iou_1) are not in the phase tables either
        raise ConfigError(f"--metric {metric} is not a score of a {cfg.task} phase; valid: {', '.join(valid)}")
    return metric


def default_metric(task: Task) -> str:
    """What ``compare`` reads when not told: test IoU, or test balanced accuracy for classification."""
    return f"test_{SUMMARY_METRICS[task][0]}"


def _full_data(cfg: Config, prepared: PreparedData, root: Path, tracker: Tracker, progress: bool) -> dict[str, float]:
    """Train (once; cached in ``full/metrics.json``) the model on the whole labeled pool."""
    from automl_al.training.supervised import train_supervised

    cached = root / "full" / "metrics.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    with tracker.start_run("full-data", tags={"stage": "compare-full"}):
        result = train_supervised(
            cfg,
            prepared,
            tracker=PrefixedTracker(tracker, "full_"),  # type: ignore[arg-type]
            checkpoint_path=root / "full" / "model.pt",
            progress=progress,
        )
    metrics = {f"val_{k}": v for k, v in result.val_metrics.items()}
    metrics.update({f"test_{k}": v for k, v in result.test_metrics.items()})
    atomic_write_json(cached, metrics)
    return metrics


def _arm_config(cfg: Config, root: Path, arm: str, seed_index: int) -> Config:
    return cfg.model_copy(
        update={
            "name": f"{cfg.name}-{arm}-seed{seed_index}",
            "run_dir": root / arm / f"seed_{seed_index}",
            "seed": cfg.seed + seed_index,
            "active": cfg.active.model_copy(update=arm_settings(arm)),
        }
    )


def _phase_table(runs: dict[str, list[list[Row]]], metric: str) -> list[Row]:
    """Phase i of every arm side by side: labeled fraction (the same for every arm, as K is), then
    the mean and SD over seeds of ``metric`` per arm."""
    length = max(len(r) for runs_of_arm in runs.values() for r in runs_of_arm)
    rows: list[Row] = []
    for i in range(length):
        at_i = [r[i] for runs_of_arm in runs.values() for r in runs_of_arm if i < len(r)]
        row: dict[str, float | int | str] = {
            "phase": i + 1,
            "labeled_fraction": float(np.mean([float(r["labeled_fraction"]) for r in at_i])),
        }
        for arm, runs_of_arm in runs.items():
            values = [float(r[i][metric]) for r in runs_of_arm if i < len(r) and metric in r[i]]
            if values:
                row[arm] = float(np.mean(values))
                row[f"{arm}_sd"] = float(np.std(values))
        rows.append(row)
    return rows


def _summary(result: CompareResult, seeds: int) -> list[Row]:
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


def _write(result: CompareResult, root: Path, title: str, tracker: Tracker) -> list[Path]:
    files = {
        "curves.png": curves_png(result.runs, result.metric, title=title, reference=result.reference, target=TARGETS[0]),
        "phases.csv": table_csv(result.phases).encode(),
        "phases.md": table_markdown(result.phases).encode(),
        "summary.csv": table_csv(result.summary).encode(),
        "summary.md": table_markdown(result.summary).encode(),
    }
    paths = []
    for name, data in files.items():
        atomic_write_bytes(root / name, data)
        tracker.log_artifact(root / name, artifact_path="compare")
        paths.append(root / name)
    metrics = {f"full_{result.metric}": result.reference}
    for arm in result.runs:
        for target in TARGETS:
            value = result.fraction_to_reach(arm, target)
            if value is not None:
                metrics[f"{arm}_fraction_to_{round(target * 100)}pct"] = value
        area = result.curve_area(arm)
        if area is not None:
            metrics[f"{arm}_area_{result.metric}"] = area[0]
    tracker.log_metrics(metrics)
    return paths


def run_compare(
    cfg: Config,
    acquisitions: Sequence[str],
    seeds: int,
    *,
    metric: str | None = None,
    tracker: Tracker | None = None,
    progress: bool = True,
    prepared: PreparedData | None = None,
) -> CompareResult:
    """Run (or resume) every arm x seed and the full-data model; write and log the comparison.
    ``metric`` defaults to :func:`default_metric` of the task."""
    from automl_al.data import prepare_data

    metric = check_compare_args(cfg, acquisitions, seeds, metric)
    cfg, _ = resolve_architecture(cfg)
    check_pretrained(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
    tracker = tracker or NullTracker()
    prepared = prepared if prepared is not None else prepare_data(cfg, progress=progress)
    if not prepared.splits[metric.split("_", 1)[0]]:
        raise ConfigError(f"--metric {metric} needs a non-empty {metric.split('_', 1)[0]} split")
    root = Path(cfg.run_dir) / "compare"
    ids_file = root / "run_ids.json"
    stored = json.loads(ids_file.read_text()) if ids_file.is_file() else {}
    with tracker.start_run(f"{cfg.name}-compare", tags={"stage": "compare"}, run_id=stored.get("parent") or None) as run_id:
        if run_id and not stored:
            atomic_write_json(ids_file, {"parent": run_id})
            tracker.log_params({"acquisitions": ",".join(acquisitions), "seeds": seeds, "metric": metric})
        full = _full_data(cfg, prepared, root, tracker, progress)
        runs: dict[str, list[list[Row]]] = {arm: [] for arm in acquisitions}
        for seed_index in range(seeds):
            for arm in acquisitions:
                arm_cfg = _arm_config(cfg, root, arm, seed_index)
                runs[arm].append(run_active(arm_cfg, tracker=tracker, progress=progress, prepared=prepared).rows)
        result = CompareResult(metric, float(full[metric]), runs, _phase_table(runs, metric), [])
        result.summary = _summary(result, seeds)
        result.files = _write(result, root, f"{cfg.name}: {metric} vs labeled fraction", tracker)
    return result
