"""The tiny demo-data config both end-to-end suites (learn, compare) run on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_demo_config(tmp_path: Path, name: str, *, train: dict[str, Any], active: dict[str, Any], tracking: bool = True) -> Path:
    """``tmp_path/config.yaml``: 10 synthetic patients at 32 px, Unet + resnet18 depth 3, MLflow in
    ``tmp_path/mlflow.db`` (when ``tracking``), run_dir ``tmp_path/run``."""
    raw = {
        "name": name,
        "run_dir": str(tmp_path / "run"),
        "seed": 0,
        "data": {
            "source": "demo",
            "image_size": [32, 32],
            "classes": 2,
            "test_fraction": 0.2,
            "val_fraction": 0.2,
            "augment": "none",
            "demo": {"n_patients": 10, "slices_per_patient": 4, "size": 32},
        },
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, "encoder_weights": None},
        "train": {"amp": False, **train},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "enabled": tracking},
        "active": active,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
