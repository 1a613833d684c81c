"""Samplers by name (``search.sampler``): ``tpe`` (default), ``random`` (the EDNAS paper's baseline),
``grid`` (every valid point once).

A factory takes the compiled space, a seed and the study's trial budget, so a sampler can size
itself to the budget (TPE's random start-up phase must not eat a small budget whole).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna

from automl_al.search.space import SearchSpace, SearchSpaceError
from automl_al.registries import SAMPLERS

SamplerFactory = Callable[[SearchSpace, int, int], optuna.samplers.BaseSampler]


@SAMPLERS.register("tpe")
def tpe(space: SearchSpace, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Multivariate TPE (models parameter interactions, e.g. lr x batch size), grouped for
    conditional spaces; random start-up trials = a quarter of the budget, between 2 and Optuna's 10."""
    startup = min(10, max(2, n_trials // 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # `group`, stable in practice
        return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed, n_startup_trials=startup)


@SAMPLERS.register("random")
def random(space: SearchSpace, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Uniform over valid architectures and each parameter: the published EDNAS baseline."""
    return optuna.samplers.RandomSampler(seed=seed)


@SAMPLERS.register("grid")
def grid(space: SearchSpace, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Each point of a finite space once, in a seeded random order; the study stops when all are done."""
    values = space.grid()
    if values is None:
        ranges = [k for k, d in space.params.items() if not isinstance(d, optuna.distributions.CategoricalDistribution)]
        raise SearchSpaceError(
            f"{space.path}: params.{ranges[0]}: sampler 'grid' needs a list of values, not a range "
            "(or use search.sampler: tpe / random)"
        )
    return optuna.samplers.GridSampler(values, seed=seed)


def make_sampler(name: str, space: SearchSpace, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS.get(name)(space, seed, n_trials)


BY_FACTOR = frozenset({"tpe"})  # samplers that learn per parameter


def sampled_space(name: str, space: SearchSpace) -> SearchSpace:
    """The encoding sampler ``name`` suggests from: TPE gets the architecture factor by factor, so
    it shares what it learns of an encoder across decoders; random stays uniform over valid
    architectures and grid needs one static parameter, so they keep the one categorical."""
    return space.factored() if name in BY_FACTOR else space
