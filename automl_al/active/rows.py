"""The report rows of an active-learning run: one row per trained phase, read from its state."""

from __future__ import annotations

import re
from collections.abc import Mapping

from automl_al.active.state import ActiveState

_PER_CLASS = re.compile(r"_\d+$")  # "val_iou_1": per-class metrics stay in the state, not the table


def without_per_class(metrics: Mapping[str, float]) -> dict[str, float]:
    """``metrics`` less the per-class ones (``val_iou_1``): what tables and logs show."""
    return {k: v for k, v in metrics.items() if not _PER_CLASS.search(k)}


def phase_rows(state: ActiveState) -> list[dict[str, float | int | str]]:
    """One row per trained phase: labeled count and fraction, metrics, times, query size."""
    rows: list[dict[str, float | int | str]] = []
    for p in state.phases:
        if p.det_checkpoint is None:  # phase 0 (no model) or not trained yet
            continue
        row: dict[str, float | int | str] = {
            "phase": p.phase,
            "labeled": p.labeled_count,
            "labeled_fraction": p.labeled_count / state.pool_size if state.pool_size else 0.0,
            # val_* before test_*, then by name: the same columns whether or not the run resumed
            # (the state file stores its metrics with sorted keys)
            **without_per_class({k: p.metrics[k] for k in sorted(p.metrics, key=lambda k: (not k.startswith("val_"), k))}),
            "train_seconds": sum(p.train_seconds.values()),
        }
        if p.scoring_seconds_per_image is not None:
            row["scoring_seconds_per_image"] = p.scoring_seconds_per_image
        row["queried"] = len(p.queried)
        rows.append(row)
    return rows
