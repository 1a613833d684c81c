"""Helpers for data tests: tiny configs and tiny image files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from automl_al.config import Config


def make_cfg(run_dir: Path, **data: Any) -> Config:
    """A Config with a tiny demo (8 patients x 3 slices, 32 px, unless ``data`` overrides it)."""
    task = data.pop("task", "segmentation")
    seed = data.pop("seed", 0)
    base: dict[str, Any] = {"image_size": (32, 32), "demo": {"n_patients": 8, "slices_per_patient": 3, "size": 32}}
    return Config.model_validate({"run_dir": str(run_dir), "task": task, "seed": seed, "data": {**base, **data}})


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path
