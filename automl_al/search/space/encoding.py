"""How a space's architecture is named to Optuna: one categorical, or factor by factor with a
parameter per set of still-valid values."""

from __future__ import annotations

import hashlib
import json
from typing import Any

ARCHITECTURE_PARAM = "architecture"
MAX_PARAM_NAME = 120  # Optuna's RDB storages hold 512 characters; dashboards show far fewer


def _factor_name(key: str, every: list[Any], valid: list[Any]) -> str:
    """``key`` when every value is valid, else a name of its own for this set of valid values: what
    it lacks, or (past what a storage indexes well) a digest of the valid values."""
    lacking = [str(c) for c in every if c not in valid]
    if not lacking:
        return key
    name = f"{key} without {', '.join(lacking)}"
    if len(name) <= MAX_PARAM_NAME:
        return name
    digest = hashlib.sha256(json.dumps([str(c) for c in valid]).encode()).hexdigest()[:8]
    return f"{key} among {len(valid)} of {len(every)} ({digest})"


def _choice(value: Any) -> Any:
    """A factor's value as an Optuna choice (a str, int or float): an image size [h, w] as "hxw"."""
    return "x".join(map(str, value)) if isinstance(value, list) else value
