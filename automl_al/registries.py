"""Every family of parts chosen by name, in one table: its registry, config key and built-in module.

These registries are the only lists of names: ``config.py`` validates each key against its registry
when a config loads, and the modules named as providers register the built-ins when imported (a
lookup imports them, so importing this module costs nothing). To add a part, register it in its
family's module, or from a plug-in (``automl_al.registry.load_plugins``): nothing here changes.

Example:
    >>> "mfe" in ACQUISITIONS, "power_mi" in ACQUISITIONS, ACQUISITIONS.base_of("power_mi")
    (True, True, 'mi')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from automl_al.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from automl_al.active.acquisition.reductions import Reduction
    from automl_al.active.acquisition.registry import AcquisitionFactory
    from automl_al.active.batch import Diversity
    from automl_al.active.initial import InitialStrategy
    from automl_al.active.loop import ScheduleFactory
    from automl_al.active.oracles import OracleFactory
    from automl_al.active.uncertainty import UncertaintySource
    from automl_al.data.sources import Source
    from automl_al.models.dropout import DropoutPlacement
    from automl_al.models.rules import DecoderSpec
    from automl_al.search.pruners import PrunerFactory
    from automl_al.search.samplers import SamplerFactory
    from automl_al.training.optim import OptimizerFactory, SchedulerFactory

# data
SOURCES: Registry[Source] = Registry("data source", "data.source", providers=["automl_al.data.sources"])
PIPELINES: Registry[Callable[[], list[Any]]] = Registry(
    "augmentation pipeline", "data.augment", providers=["automl_al.data.transforms"]
)
# models (model.arch is checked by the compatibility rules, which know the encoder and task too)
DECODERS: Registry[DecoderSpec] = Registry("decoder", "model.arch", providers=["automl_al.models.rules"])
DROPOUTS: Registry[DropoutPlacement] = Registry(
    "dropout placement", "model.dropout", providers=["automl_al.models.dropout"]
)
# training
LOSSES: Registry[type[nn.Module]] = Registry("segmentation loss", providers=["automl_al.training.losses"])
OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer", providers=["automl_al.training.optim"])
SCHEDULERS: Registry[SchedulerFactory] = Registry("scheduler", providers=["automl_al.training.optim"])
# search
SAMPLERS: Registry[SamplerFactory] = Registry("sampler", providers=["automl_al.search.samplers"])
PRUNERS: Registry[PrunerFactory] = Registry("pruner", providers=["automl_al.search.pruners"])
# active learning
ACQUISITIONS: Registry[AcquisitionFactory] = Registry(
    "acquisition", "active.acquisition", providers=["automl_al.active.acquisition.registry"]
)
REDUCTIONS: Registry[Reduction] = Registry(
    "reduction", "active.reduction", providers=["automl_al.active.acquisition.reductions"]
)
INITIAL_STRATEGIES: Registry[InitialStrategy] = Registry(
    "initial strategy", "active.initial_strategy", providers=["automl_al.active.initial"]
)
DIVERSITIES: Registry[Diversity] = Registry("batch diversity", "active.diversity", providers=["automl_al.active.batch"])
ORACLES: Registry[OracleFactory] = Registry("oracle", "active.oracle", providers=["automl_al.active.oracles"])
UNCERTAINTIES: Registry[UncertaintySource] = Registry(
    "uncertainty source", "active.uncertainty", providers=["automl_al.active.uncertainty"]
)
SCHEDULES: Registry[ScheduleFactory] = Registry("query schedule", "active.schedule", providers=["automl_al.active.loop"])

ALL: dict[str, Registry[Any]] = {
    "data.source": SOURCES,
    "data.augment": PIPELINES,
    "model.arch": DECODERS,
    "model.dropout": DROPOUTS,
    "train.loss": LOSSES,
    "train.optimizer": OPTIMIZERS,
    "train.scheduler": SCHEDULERS,
    "search.sampler": SAMPLERS,
    "search.pruner": PRUNERS,
    "active.acquisition": ACQUISITIONS,
    "active.reduction": REDUCTIONS,
    "active.initial_strategy": INITIAL_STRATEGIES,
    "active.diversity": DIVERSITIES,
    "active.oracle": ORACLES,
    "active.uncertainty": UNCERTAINTIES,
    "active.schedule": SCHEDULES,
}
"""Each family by the config key that names one of its parts (``active.dropout`` uses DROPOUTS too)."""
