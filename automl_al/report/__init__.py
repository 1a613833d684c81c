"""The run report: one self-contained HTML page plus its figures as PNG files (also logged to MLflow).

Example:
    >>> from automl_al.report import ReportData, write_report
    >>> data = ReportData(title="demo", leaderboard=[{"trial": 0, "score": 0.8, "state": "COMPLETE"}])
    >>> write_report(data, tmp_path / "report")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from automl_al.report.data import ReportData, Row, SampleSet
from automl_al.report.html import make_figures, render_html
from automl_al.utils import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from automl_al.tracking import Tracker

__all__ = ["ReportData", "Row", "SampleSet", "build_report", "make_figures", "render_html", "write_report"]


def write_report(
    data: ReportData,
    out_dir: Path,
    *,
    tracker: Tracker | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write ``out_dir/report.html`` and ``out_dir/<figure>.png``; log both to ``tracker``'s active
    run under ``report/``. Returns the HTML path."""
    out_dir = Path(out_dir)
    figures = make_figures(data, class_names)
    for name, png in figures.items():
        atomic_write_bytes(out_dir / f"{name}.png", png)
    page = out_dir / "report.html"
    atomic_write_text(page, render_html(data, figures))
    if tracker is not None:
        for name in figures:
            tracker.log_artifact(out_dir / f"{name}.png", artifact_path="report")
        tracker.log_artifact(page, artifact_path="report")
    return page


def build_report(run_dir: Path, *, tracker: Tracker | None = None) -> Path:
    """Rebuild ``<run_dir>/report/report.html`` from the files the run left behind."""
    from automl_al.report.collect import collect_report_data

    data, class_names = collect_report_data(Path(run_dir))
    return write_report(data, Path(run_dir) / "report", tracker=tracker, class_names=class_names)
