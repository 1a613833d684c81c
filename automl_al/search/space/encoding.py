"""How a space's architecture is named to Optuna: one categorical (``ARCHITECTURE_PARAM``, labels
such as ``"FPN/resnet18/depth4"``), or factor by factor, with a parameter of its own for each set
of still-valid values (Optuna needs a parameter's choices to be fixed; see the package docstring)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

ARCHITECTURE_PARAM = "architecture"
MAX_PARAM_NAME = 120  # Optuna's RDB storages hold 512 characters; dashboards show far fewer


def factor_name(key: str, every: list[Any], valid: list[Any]) -> str:
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


def as_choice(value: Any) -> Any:
    """A factor's value as an Optuna choice (a str, int or float): an image size [h, w] as "hxw"."""
    return "x".join(map(str, value)) if isinstance(value, list) else value


def walk_factors(architectures: Mapping[str, Mapping[str, Any]], pick: Callable[[str, list[Any]], Any]) -> dict[str, Any]:
    """Pick each architecture factor in turn among the values still valid with those picked:
    ``pick(parameter name, valid choices)`` is a trial's ``suggest_categorical`` when sampling, a
    look-up in stored params when decoding. Returns the chosen architecture's dotted config values."""
    remaining = list(architectures.values())
    for key in remaining[0]:
        every = list(dict.fromkeys(as_choice(a[key]) for a in architectures.values()))
        if len(every) == 1:
            continue
        valid = [c for c in every if any(as_choice(a[key]) == c for a in remaining)]
        picked = pick(factor_name(key, every, valid), valid)
        remaining = [a for a in remaining if as_choice(a[key]) == picked]
    return dict(remaining[0])
