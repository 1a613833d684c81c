"""Fixtures for the active-learning tests (fakes live in active_fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from automl_al.config import Config


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., Config]:
    """A config with the given ``active`` keys and ``run_dir`` in tmp_path."""

    def make(**active: Any) -> Config:
        return Config.model_validate({"run_dir": str(tmp_path / "run"), "active": active})

    return make
