"""Oracles by name (``active.oracle``): who answers a label request.

Example:
    >>> available_oracles()
    ['folder', 'simulated']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from automl_al.active.oracles.base import Oracle, WaitingForLabels
from automl_al.active.oracles.folder import FolderOracle
from automl_al.active.oracles.simulated import SimulatedOracle
from automl_al.registries import ORACLES

if TYPE_CHECKING:
    from automl_al.config import Config
    from automl_al.data import PreparedData

OracleFactory = Callable[["PreparedData", "Config"], Oracle]


def register_oracle(name: str, factory: OracleFactory) -> None:
    """Add ``name -> factory(prepared, cfg)``; a name that is already taken is an error."""
    ORACLES.register(name, factory)


def create_oracle(name: str, prepared: PreparedData, cfg: Config) -> Oracle:
    return ORACLES.get(name)(prepared, cfg)


def available_oracles() -> list[str]:
    return ORACLES.names()


register_oracle(SimulatedOracle.name, lambda prepared, cfg: SimulatedOracle(prepared))
register_oracle(
    FolderOracle.name,
    lambda prepared, cfg: FolderOracle(
        prepared, cfg.run_dir, task=cfg.task, classes=cfg.data.classes, class_names=cfg.data.class_names
    ),
)

__all__ = [
    "ORACLES",
    "FolderOracle",
    "Oracle",
    "SimulatedOracle",
    "WaitingForLabels",
    "available_oracles",
    "create_oracle",
    "register_oracle",
]
