"""Setting dotted config keys (``train.lr``) to sampled values, validated like a YAML file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from automl_al.config import Config


def apply_params(cfg: Config, params: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with dotted keys set (``{"train.lr": 1e-4}``), validated like a YAML file."""
    tree = cfg.model_dump(mode="python")
    for dotted, value in params.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for p in parents:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"{dotted!r} is not a config key ({p!r} is not a section)")
            node = node[p]
        if leaf not in node:
            raise ValueError(f"{dotted!r} is not a config key")
        node[leaf] = value
    try:
        return Config.model_validate(tree)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ValueError(problems) from None
