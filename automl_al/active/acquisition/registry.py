"""Acquisition functions by name (``active.acquisition``): the built-ins and any you register.

A registry entry is a factory ``seed -> Acquisition``; every :class:`Acquisition` class is one (it is
built as ``cls(seed)``). Deterministic heuristics ignore the seed; ``random``, ``fg_random`` and the
power variants seed their own generator with it. A class that sets ``power_variant`` also gets
``power_<name>`` (:func:`power_sampling`), derived by the registry from the entry.

Adding one is a class and one line::

    class Darkest(Acquisition):
        name = "darkest"
        needs_mc = False

        def score(self, probs, reduction):
            return probs[0, :, 0].flatten(1).mean(dim=1)

    register_acquisition(Darkest.name, Darkest)

Example:
    >>> acq = create_acquisition("mfe", seed=0)
    >>> acq.needs_mc
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

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
from automl_al.registries import ACQUISITIONS

AcquisitionFactory = Callable[[int], Acquisition]

POWER_PREFIX = "power_"


def register_acquisition(name: str, factory: AcquisitionFactory) -> None:
    """Add ``name -> factory(seed)``; a name that is already taken is an error."""
    ACQUISITIONS.register(name, factory)


def create_acquisition(name: str, *, seed: int) -> Acquisition:
    """A fresh acquisition; the same name and seed give the same scores for the same inputs."""
    return ACQUISITIONS.get(name)(seed)


def available_acquisitions() -> list[str]:
    return ACQUISITIONS.names()


def _power_samplable(entry: AcquisitionFactory) -> bool:
    """An :class:`Acquisition` class that declares ``power_variant`` (a plain factory cannot say)."""
    return isinstance(entry, type) and issubclass(entry, Acquisition) and entry.power_variant


def _power(entry: AcquisitionFactory) -> AcquisitionFactory:
    return power_sampling(cast(type[Acquisition], entry))  # only called where _power_samplable holds


ACQUISITIONS.add_variant(POWER_PREFIX, _power, applies=_power_samplable)
for _cls in (
    PredictiveEntropy,
    ExpectedEntropy,
    MutualInformation,
    StandardDeviation,
    Margin,
    ClassEntropy,
    RandomScores,
    ForegroundRandom,
):
    register_acquisition(_cls.name, _cls)
