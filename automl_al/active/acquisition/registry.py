"""Acquisition functions by name (``active.acquisition``): the built-ins and any you register.

A registry entry is a factory ``seed -> Acquisition``; deterministic heuristics ignore the seed,
``random``, ``fg_random`` and the ``power_*`` variants of each uncertainty heuristic seed their own
generator with it.

Example:
    >>> acq = create_acquisition("mfe", seed=0)
    >>> acq.needs_mc
    True
"""

from __future__ import annotations

from collections.abc import Callable

from automl_al.registry import Registry
from automl_al.active.acquisition.heuristics import (
    Acquisition,
    ClassEntropy,
    ExpectedEntropy,
    ForegroundRandom,
    Margin,
    MutualInformation,
    PredictiveEntropy,
    RandomScores,
    StandardDeviation,
    power_sampling,
)

AcquisitionFactory = Callable[[int], Acquisition]

ACQUISITIONS: Registry[AcquisitionFactory] = Registry("acquisition", "active.acquisition")


def register_acquisition(name: str, factory: AcquisitionFactory) -> None:
    """Add ``name -> factory(seed)``; a name that is already taken is an error."""
    ACQUISITIONS.register(name, factory)


def create_acquisition(name: str, *, seed: int) -> Acquisition:
    """A fresh acquisition; the same name and seed give the same scores for the same inputs."""
    return ACQUISITIONS.get(name)(seed)


def available_acquisitions() -> list[str]:
    return ACQUISITIONS.names()


def _ignoring_seed(cls: type[Acquisition]) -> AcquisitionFactory:
    return lambda seed: cls()


for _cls in (PredictiveEntropy, ExpectedEntropy, MutualInformation, StandardDeviation, Margin, ClassEntropy):
    register_acquisition(_cls.name, _ignoring_seed(_cls))
    _power = power_sampling(_cls)
    register_acquisition(_power.name, _power)
register_acquisition(RandomScores.name, RandomScores)
register_acquisition(ForegroundRandom.name, ForegroundRandom)
