"""Sampler and pruner registries: names from the config map to configured Optuna objects."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from pydantic import ValidationError

from automl_al.config import SearchConfig
from automl_al.search.pruners import PRUNERS, make_pruner
from automl_al.search.samplers import SAMPLERS, make_sampler, sampled_space
from automl_al.search.space import SearchSpaceError, load_space
from search_helpers import TINY_SPACE


@pytest.fixture
def space(tmp_path: Path):
    path = tmp_path / "space.yaml"
    path.write_text(TINY_SPACE)
    return load_space(path, compatible=lambda *a: True)


def test_the_config_takes_exactly_the_registered_choices() -> None:
    for key, registry in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        assert all(getattr(SearchConfig(**{key: name}), key) == name for name in registry.names())
        with pytest.raises(ValidationError, match=f"unknown {key} 'nope'; valid names: "):
            SearchConfig(**{key: "nope"})


def test_unknown_names_list_the_valid_ones(space) -> None:
    with pytest.raises(KeyError, match="unknown sampler 'cmaes'; valid names: grid, random, tpe"):
        make_sampler("cmaes", space, 0, 8)
    with pytest.raises(KeyError, match="valid names: asha, hyperband, median, none"):
        make_pruner("pbt", 3)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        SAMPLERS.register("tpe")(lambda *a: None)


def test_tpe_is_multivariate_grouped_seeded_and_sized_to_the_budget(space) -> None:
    sampler = make_sampler("tpe", space, 3, 8)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._multivariate and sampler._group
    assert sampler._n_startup_trials == 2  # 8 // 4; Optuna's default 10 would make TPE random here
    assert make_sampler("tpe", space, 3, 400)._n_startup_trials == 10


def test_tpe_gets_the_architecture_by_factor_and_random_and_grid_as_one_categorical(space) -> None:
    assert sampled_space("tpe", space).by_factor
    assert not sampled_space("random", space).by_factor and not sampled_space("grid", space).by_factor
    assert sampled_space("tpe", space).size == space.size == 8  # the same points either way


def test_same_seed_same_random_points(space) -> None:
    def points(seed: int) -> list[dict]:
        study = optuna.create_study(sampler=make_sampler("random", space, seed, 5))
        return [space.suggest(study.ask()) for _ in range(5)]

    assert points(1) == points(1)
    assert points(1) != points(2)


def test_grid_enumerates_each_valid_point_once(space) -> None:
    study = optuna.create_study(sampler=make_sampler("grid", space, 0, 100), direction="maximize")
    study.optimize(lambda t: float(len(str(space.suggest(t)))), n_trials=100)
    seen = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(seen) == len(set(seen)) == space.size == 4 * 2  # 4 architectures x 2 lr


def test_grid_refuses_a_range(tmp_path: Path) -> None:
    path = tmp_path / "range.yaml"
    path.write_text(TINY_SPACE.replace("[1.0e-3, 1.0e-4]", "{low: 1.0e-4, high: 1.0e-2, log: true}"))
    with pytest.raises(SearchSpaceError, match="params.train.lr: sampler 'grid' needs a list"):
        make_sampler("grid", load_space(path, compatible=lambda *a: True), 0, 8)


def first_rungs(hb: optuna.pruners.BasePruner) -> list[int]:
    """The epoch at which each of a Hyperband pruner's brackets first judges a trial."""
    assert isinstance(hb, optuna.pruners.HyperbandPruner)
    trial = optuna.create_study(pruner=hb).ask()
    trial.report(0.5, 1)
    trial.should_prune()  # Optuna builds the brackets on first use
    return [b._min_resource * b._reduction_factor**b._min_early_stopping_rate for b in hb._pruners]


def test_pruners_use_the_epoch_budget() -> None:
    # Brackets first judging at 1, 3, ... epochs, up to a third of the budget: never first at its
    # last epoch, where no trial is pruned.
    assert first_rungs(make_pruner("hyperband", 9)) == [1, 3]
    assert first_rungs(make_pruner("hyperband", 27)) == [1, 3, 9]
    assert first_rungs(make_pruner("hyperband", 2)) == [1]
    asha = make_pruner("asha", 9)
    assert isinstance(asha, optuna.pruners.SuccessiveHalvingPruner)
    assert (asha._min_resource, asha._reduction_factor, asha._min_early_stopping_rate) == (1, 3, 0)
    assert isinstance(make_pruner("median", 3), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("none", 3), optuna.pruners.NopPruner)
