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

This module only orchestrates; the arms and argument checks are in
:mod:`~automl_al.pipeline.compare.arms`, the figures in :mod:`~automl_al.pipeline.compare.stats`
(pure functions) and the files in :mod:`~automl_al.pipeline.compare.output`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from automl_al.active.architecture import resolve_architecture
from automl_al.active.curves import Row
from automl_al.active.run import run_active
from automl_al.config import Config, ConfigError
from automl_al.models import check_pretrained
from automl_al.pipeline.compare.arms import arm_config, check_compare_args
from automl_al.pipeline.compare.output import write_outputs
from automl_al.pipeline.compare.stats import CompareResult, phase_table, summary_rows
from automl_al.tracking import NullTracker, PrefixedTracker, Tracker
from automl_al.utils import atomic_write_json

if TYPE_CHECKING:
    from automl_al.data import PreparedData


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
    ``metric`` defaults to :func:`~automl_al.pipeline.compare.arms.default_metric` of the task."""
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
                arm_cfg = arm_config(cfg, root, arm, seed_index)
                runs[arm].append(list(run_active(arm_cfg, tracker=tracker, progress=progress, prepared=prepared).rows))
        result = CompareResult(metric, float(full[metric]), runs, phase_table(runs, metric), [])
        result.summary = summary_rows(result, seeds)
        result.files = write_outputs(result, root, f"{cfg.name}: {metric} vs labeled fraction", tracker)
    return result
