"""The final model: trained on every collected label, it names its classes in what it saves."""

from __future__ import annotations

from pathlib import Path

import yaml
from run_helpers import class_folder

from automl_al.active.labels import LabelStore
from automl_al.active.paths import RunPaths
from automl_al.config import Config
from automl_al.data import prepare_data
from automl_al.pipeline.final import train_final
from automl_al.tracking import NullTracker


def test_a_classifier_on_class_folders_saves_and_scores_its_classes_by_name(tmp_path: Path) -> None:
    cfg = Config.model_validate({
        "run_dir": str(tmp_path / "run"), "task": "classification", "seed": 0,
        "data": {"source": "classes", "path": str(class_folder(tmp_path / "classes")), "image_size": [32, 32],
                 "group_pattern": r"(p\d+)", "test_fraction": 0.3, "val_fraction": 0.0},  # no class_names
        "model": {"encoder": "resnet18"},
        "train": {"epochs": 1, "device": "cpu", "amp": False},
        "tracking": {"enabled": False},
    })
    prepared = prepare_data(cfg, progress=False)
    pool = list(prepared.splits["pool"])
    LabelStore(RunPaths(cfg.run_dir).labels).put(dict(zip(pool, prepared.targets_for(pool), strict=True)))

    summary = train_final(cfg, prepared, pool, tracker=NullTracker(), progress=False)

    assert list(summary["per_class"]) == ["disc", "empty"]  # sorted folder names, not class_0 / class_1
    saved = yaml.safe_load((cfg.run_dir / "final" / "config.yaml").read_text())
    assert saved["data"]["class_names"] == ["disc", "empty"]
