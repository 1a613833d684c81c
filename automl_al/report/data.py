"""What a report shows, as plain tables and arrays: no model, no MLflow, no files.

Keeping the report's input this dumb lets ``automl-al report RUN_DIR`` rebuild the page from the
files a run left behind, and lets tests render a report from hand-made tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Row = dict[str, Any]


@dataclass
class SampleSet:
    """Example predictions for the most and least uncertain test images.

    ``images`` float ``[K, H, W]`` (first channel, any range), ``predictions`` int ``[K, H, W]``
    (segmentation) or ``[K]`` (classification), ``uncertainty`` float ``[K, H, W]`` per-pixel maps
    (segmentation) or ``None``, ``scores`` float ``[K]`` one uncertainty per image, ``kinds``
    ``"most"`` / ``"least"`` per image.
    """

    ids: list[str]
    images: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray
    kinds: list[str]
    uncertainty: np.ndarray | None = None
    targets: np.ndarray | None = None
    method: str = "entropy"

    def __post_init__(self) -> None:
        k = len(self.ids)
        for name in ("images", "predictions", "scores"):
            if len(getattr(self, name)) != k:
                raise ValueError(f"SampleSet.{name} has {len(getattr(self, name))} items, ids has {k}")
        if len(self.kinds) != k:
            raise ValueError(f"SampleSet.kinds has {len(self.kinds)} items, ids has {k}")


@dataclass
class ReportData:
    """Everything one report page shows; every part may be empty (a stage that did not run)."""

    title: str
    task: str = "segmentation"
    # One row per search trial: trial, params..., score, duration_s, state.
    leaderboard: list[Row] = field(default_factory=list)
    score_name: str = "score"
    # Acquisition function -> one phase table per seed; rows hold ``labeled_fraction`` and
    # ``curve_metric`` (the per-phase rows of :func:`automl_al.active.rows.phase_rows`).
    curves: dict[str, list[list[Row]]] = field(default_factory=dict)
    curve_metric: str = "test_iou"
    # One row per active-learning phase (any columns).
    phases: list[Row] = field(default_factory=list)
    samples: SampleSet | None = None
    # Class name -> metric name -> value, for the final model on the test split.
    class_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    # Overall final test metrics (e.g. mean foreground IoU).
    test_metrics: dict[str, float] = field(default_factory=dict)
    # Free-form facts shown at the top: run dir, MLflow run id, model URI, config file.
    facts: dict[str, str] = field(default_factory=dict)
