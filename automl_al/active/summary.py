"""What a finished active-learning run leaves behind: learning curve, per-phase table, final model.

Files go to ``<run_dir>/active/`` (``learning_curve.png``, ``phases.csv``, ``phases.md``,
``model.pt``) and are logged to the run's parent MLflow run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from automl_al.active.curves import curves_png, table_csv, table_markdown
from automl_al.active.loop import ActiveResult
from automl_al.tracking import Tracker
from automl_al.utils import atomic_write_bytes


def curve_metric(rows: list[dict]) -> str:
    """IoU on the test split when there is one, else on validation (Dice, then any metric, as fallbacks)."""
    keys = {k for row in rows for k in row}
    for name in ("test_iou", "val_iou", "test_balanced_accuracy", "val_balanced_accuracy"):
        if name in keys:
            return name
    return "val_loss"


def write_summary(result: ActiveResult, tracker: Tracker, *, label: str, title: str) -> list[Path]:
    """Write and log the learning curve (one line called ``label``), the per-phase table (CSV +
    markdown) and the final model; the last phase's numbers go to the run as ``final_*`` metrics."""
    out = Path(result.run_dir) / "active"
    files = {
        "phases.csv": table_csv(result.rows).encode(),
        "phases.md": table_markdown(result.rows).encode(),
        "learning_curve.png": curves_png({label: [result.rows]}, curve_metric(result.rows), title=title),
    }
    paths = []
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        paths.append(out / name)
    if result.final_checkpoint is not None:
        tmp = out / ".model.pt.tmp"
        shutil.copyfile(result.final_checkpoint, tmp)
        tmp.replace(out / "model.pt")
        paths.append(out / "model.pt")
    for path in paths:
        tracker.log_artifact(path, artifact_path="active")
    if result.rows:
        last = result.rows[-1]
        tracker.log_metrics({f"final_{k}": float(v) for k, v in last.items() if isinstance(v, (int, float))})
    return paths
