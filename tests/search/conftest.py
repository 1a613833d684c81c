"""Search test fixtures: the tiny space file and a config around it (helpers: search_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_helpers import TINY_SPACE

from automl_al.config import Config


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-space.yaml"
    path.write_text(TINY_SPACE)
    return path


@pytest.fixture
def search_cfg(tmp_path: Path, tiny_space: Path) -> Config:
    return Config.model_validate(
        {
            "name": "tiny",
            "run_dir": str(tmp_path / "run"),
            "tracking": {"enabled": False},
            "search": {"space": str(tiny_space), "n_trials": 4, "epochs": 3, "sampler": "random", "pruner": "none"},
        }
    )
