"""The active loop's files apart from its state machine: path layout, scores and features, report rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl_al.active.paths import RunPaths
from automl_al.active.phase_files import read_features, read_scores, scores_csv, write_features
from automl_al.active.rows import phase_rows, without_per_class
from automl_al.active.state import ActiveState


def test_a_phase_keeps_its_scores_and_features_side_by_side(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    assert paths.scores(3) == tmp_path / "state" / "phase_03" / "scores.csv"
    assert paths.features(3).parent == paths.phase_dir(3) and paths.features(3).name == "features.npy"
    assert paths.relative(paths.scores(3)) == "state/phase_03/scores.csv"


def test_scores_and_features_read_back_exactly(tmp_path: Path) -> None:
    scores = [0.1 + 0.2, 1e-300, -2.5]  # repr keeps every digit: a resumed query ranks the same
    paths = RunPaths(tmp_path)
    paths.phase_dir(1).mkdir(parents=True)
    paths.scores(1).write_text(scores_csv(["a", "b", "c"], scores))
    ids, read = read_scores(paths.scores(1))
    assert ids == ["a", "b", "c"] and read.tolist() == scores
    features = np.arange(6, dtype=np.float64).reshape(3, 2) / 3
    write_features(paths.features(1), features)
    assert read_features(paths.features(1)).dtype == np.float32
    np.testing.assert_array_equal(read_features(paths.features(1)), features.astype(np.float32))
    assert scores_csv(["given"], [None]).splitlines() == ["id,score", "given,"]  # a label the source gave


def test_report_rows_cover_trained_phases_without_per_class_metrics() -> None:
    state = ActiveState.new(pool_size=10)
    state.begin_phase(0)
    state.phases[0].mark("labeled")
    trained = state.begin_phase(1)
    trained.det_checkpoint, trained.labeled_count = "state/phase_01/det.pt", 4
    trained.metrics = {"test_iou": 0.5, "val_iou_1": 0.2, "val_iou": 0.4}
    trained.train_seconds = {"det": 1.0, "mc": 2.0}
    (row,) = phase_rows(state)  # phase 0 trained no model
    assert list(row) == ["phase", "labeled", "labeled_fraction", "val_iou", "test_iou", "train_seconds", "queried"]
    assert (row["labeled_fraction"], row["train_seconds"]) == (0.4, 3.0)
    assert without_per_class({"val_iou_1": 0.2, "val_iou": 0.4}) == {"val_iou": 0.4}
