"""Fixtures for data tests (helpers live in data_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import make_cfg

from automl_al.config import Config


@pytest.fixture
def tiny_cfg(tmp_path: Path) -> Config:
    return make_cfg(tmp_path / "run")
