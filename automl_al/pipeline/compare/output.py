"""The compare study's files (``curves.png``, ``phases.csv/.md``, ``summary.csv/.md``) and the
figures logged to its parent MLflow run."""

from __future__ import annotations

from pathlib import Path

from automl_al.active.curves import curves_png, table_csv, table_markdown
from automl_al.pipeline.compare.stats import TARGETS, CompareResult, study_metrics
from automl_al.tracking import Tracker
from automl_al.utils import atomic_write_bytes


def write_outputs(result: CompareResult, root: Path, title: str, tracker: Tracker) -> list[Path]:
    """Write every file under ``root`` (atomically: a resumed study rewrites them whole), log them
    and :func:`~automl_al.pipeline.compare.stats.study_metrics`; returns the paths written."""
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
    tracker.log_metrics(study_metrics(result))
    return paths
