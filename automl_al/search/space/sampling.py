"""A compiled search space as Optuna sees it: distributions, grid, fingerprint, and the trial
suggestions decoded back to dotted config values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

from automl_al.config import Task
from automl_al.search.space.encoding import ARCHITECTURE_PARAM, walk_factors


@dataclass(frozen=True)
class SearchSpace:
    """A compiled space: valid architectures plus independent hyper-parameter distributions."""

    path: Path
    task: Task
    architectures: dict[str, dict[str, Any]]  # label -> dotted config values
    params: dict[str, BaseDistribution]  # dotted config key -> distribution
    description: str = ""
    by_factor: bool = False  # suggest the architecture factor by factor (see the module docstring)

    def factored(self) -> SearchSpace:
        """The same points, with the architecture suggested factor by factor (for TPE).

        >>> space = SearchSpace(Path("s.yaml"), "segmentation", {
        ...     "Unet/resnet18": {"model.arch": "Unet", "model.encoder": "resnet18"},
        ...     "Unet/vgg11_bn": {"model.arch": "Unet", "model.encoder": "vgg11_bn"},
        ...     "DeepLabV3Plus/resnet18": {"model.arch": "DeepLabV3Plus", "model.encoder": "resnet18"}}, {})
        >>> trial = optuna.trial.FixedTrial({"model.arch": "DeepLabV3Plus", "model.encoder without vgg11_bn": "resnet18"})
        >>> space.factored().suggest(trial), list(trial.params)
        ({'model.arch': 'DeepLabV3Plus', 'model.encoder': 'resnet18'}, ['model.arch', 'model.encoder without vgg11_bn'])
        """
        return replace(self, by_factor=True)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna parameter name -> distribution (what a trial records)."""
        return {ARCHITECTURE_PARAM: CategoricalDistribution(list(self.architectures)), **self.params}

    @property
    def size(self) -> int | None:
        """Number of points, or None when a parameter is a continuous range."""
        grid = self.grid()
        return None if grid is None else _product(len(v) for v in grid.values())

    def grid(self) -> dict[str, list[Any]] | None:
        """Every parameter's finite values (for GridSampler), or None if one is a range."""
        out: dict[str, list[Any]] = {}
        for name, dist in self.distributions.items():
            values = _finite_values(dist)
            if values is None:
                return None
            out[name] = values
        return out

    def fingerprint(self) -> str:
        """Stable hash of the compiled space: a resumed study must search the same space."""
        blob = json.dumps({k: distribution_to_json(d) for k, d in self.distributions.items()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample one point; returns dotted config keys -> values."""
        if self.by_factor:
            out = walk_factors(self.architectures, trial.suggest_categorical)
            out.update({name: _suggest(trial, name, dist) for name, dist in self.params.items()})
            return out
        return self.decode({name: _suggest(trial, name, dist) for name, dist in self.distributions.items()})

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna params (as stored in a trial, either encoding) -> dotted config keys -> values."""
        if ARCHITECTURE_PARAM in params:
            out = dict(self.architectures[params[ARCHITECTURE_PARAM]])
        else:
            out = walk_factors(self.architectures, lambda name, choices: params[name])
        out.update({k: v for k, v in params.items() if k in self.params})
        return out



def _product(values: Any) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def _finite_values(dist: BaseDistribution) -> list[Any] | None:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    return None


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"unsupported distribution for {name}: {dist!r}")
