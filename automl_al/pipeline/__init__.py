"""``automl-al run``: search -> active learning with the best config -> final model, under one
parent MLflow run with the stages as children, then the report.

Each stage resumes by itself (the study, the active-learning state), and ``<run_dir>/pipeline.json``
records the parent run's id and which stages finished, so running the same command again after
an interruption continues where it stopped and logs into the same parent run.

Example:
    >>> from automl_al.pipeline import run_pipeline, load_run_config
    >>> cfg = load_run_config(None, ["data.demo.n_patients=8"])  # the built-in demo, smaller
    >>> result = run_pipeline(cfg)                                 # doctest: +SKIP
    >>> result.report                                              # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_al.config import Config, load_config
from automl_al.pipeline.state import STAGES, PipelineError, PipelineState, StateFile
from automl_al.tracking import NullTracker, Tracker

__all__ = ["STAGES", "PipelineError", "PipelineResult", "load_run_config", "run_pipeline"]

log = logging.getLogger(__name__)


def load_run_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """The config at ``path``, or the built-in demo (``automl_al/templates/demo.yaml``) when None."""
    from automl_al.templates import demo_config_path

    return load_config(demo_config_path() if path is None else path, overrides)


@dataclass
class PipelineResult:
    status: str  # "finished" | "waiting" (the folder oracle needs a human)
    run_dir: Path
    parent_run_id: str | None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: Path | None = None
    message: str = ""


def _search(cfg: Config, tracker: Tracker, config_path: Path, workers: int, progress: bool) -> dict[str, Any]:
    from automl_al.pipeline.workers import prepare_shared_study, run_workers
    from automl_al.search import run_search
    from automl_al.search.storage import default_storage_url

    if workers > 1:
        url, study = cfg.search.storage or default_storage_url(cfg.run_dir), cfg.search.study or cfg.name
        prepare_shared_study(url, study, tracker, {"stage": "search", "study": study})
        run_workers(config_path, workers, url=url, study_name=study, log_dir=Path(cfg.run_dir) / "search")
    result = run_search(cfg, tracker=tracker, progress=progress)
    return {
        "study": result.study_name,
        "storage": result.storage,
        "best_trial": result.best_trial,
        "best_value": result.best_value,
        "best_params": result.best_params,
        "best_config": str(result.best_config_path),
    }


def _active(cfg: Config, tracker: Tracker, prepared: Any, progress: bool) -> tuple[dict[str, Any], Any]:
    from automl_al.active.run import run_active

    result = run_active(cfg, tracker=tracker, progress=progress, prepared=prepared)
    summary = {
        "status": result.status,
        "stop_reason": result.stop_reason,
        "phases": len(result.rows),
        "labeled": len(result.state.labeled_ids()),
        "last": result.rows[-1] if result.rows else {},
    }
    return summary, result


def run_pipeline(cfg: Config, *, tracker: Tracker | None = None, workers: int = 1, progress: bool = True) -> PipelineResult:
    """Run (or resume) every stage of ``cfg`` and write the report; see the module docstring."""
    from automl_al.data import prepare_data
    from automl_al.pipeline.final import train_final
    from automl_al.report import build_report

    if workers < 1:
        raise PipelineError(f"--workers must be at least 1, got {workers}")
    tracker = tracker or NullTracker()
    run_dir = Path(cfg.run_dir)
    state_file = StateFile(run_dir)
    state: PipelineState = state_file.load(cfg)
    config_path = state_file.save_config(cfg)
    tags = {"stage": "pipeline", "task": cfg.task}
    with tracker.start_run(cfg.name, tags=tags, run_id=state.parent_run_id) as run_id:
        if run_id and state.parent_run_id != run_id:
            state.parent_run_id = run_id
            state_file.save(state)
            tracker.log_params(cfg.model_dump(mode="json"))
            tracker.log_artifact(config_path)
        if not state.done("search"):
            state.stages["search"] = _search(cfg, tracker, config_path, workers, progress)
            state_file.save(state)
        prepared = prepare_data(cfg, progress=progress)
        if not state.done("active"):
            summary, active = _active(cfg, tracker, prepared, progress)
            if active.status == "waiting":
                message = str(active.waiting)
                return PipelineResult("waiting", run_dir, state.parent_run_id, state.stages, None, message)
            state.stages["active"] = summary
            state_file.save(state)
        if not state.done("final"):
            labeled = _labeled_ids(cfg)
            state.stages["final"] = train_final(cfg, prepared, labeled, tracker=tracker, progress=progress)
            state_file.save(state)
        report = build_report(run_dir, tracker=tracker)
        tracker.set_tags({"stages_done": ",".join(state.stages)})
    return PipelineResult("finished", run_dir, state.parent_run_id, state.stages, report)


def _labeled_ids(cfg: Config) -> list[str]:
    """Every id the oracle labeled during active learning (read back from its state file)."""
    from automl_al.active.paths import RunPaths
    from automl_al.active.state import StateFile as ActiveStateFile

    return ActiveStateFile(RunPaths(Path(cfg.run_dir)).state_file).load().labeled_ids()
