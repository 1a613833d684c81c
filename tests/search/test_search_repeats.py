"""A configuration proposed again: a complete twin's result is reused; a pruned twin is judged again
by the new trial's own rungs, and trained again only when they keep it past the twin's last epoch."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from search_helpers import CurveTrainer, curve_value

from automl_al.config import Config
from automl_al.search.leaderboard import progress_line
from automl_al.search.objective import Objective
from automl_al.search.repeats import judged_twin
from automl_al.search.space import load_space
from automl_al.tracking import NullTracker

POINT = {"architecture": "Unet/resnet18/depth3/32px", "train.lr": 1e-3, "train.batch_size": 8}


class PruneTrialsAtEpoch(optuna.pruners.BasePruner):
    """Prunes the trials in ``numbers`` at their first epoch: a bracket whose first rung is epoch 1
    for them, and one that never prunes for the others (as Hyperband's brackets differ)."""

    def __init__(self, numbers: set[int]) -> None:
        self.numbers = numbers

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number in self.numbers


class PruneEveryTrialAtEpoch(optuna.pruners.BasePruner):
    """Prunes any trial once it reports ``epoch``: a rung there that keeps nobody."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step == self.epoch


def _search(
    cfg: Config, pruned: set[int], trials: int = 2, pruner: optuna.pruners.BasePruner | None = None
) -> tuple[list[optuna.trial.FrozenTrial], CurveTrainer]:
    trainer = CurveTrainer()
    objective = Objective(cfg, load_space(cfg.search.space, cfg), trainer, NullTracker(), "val_iou")
    study = optuna.create_study(direction="maximize", pruner=pruner or PruneTrialsAtEpoch(pruned))
    for _ in range(trials):
        study.enqueue_trial(POINT)
    study.optimize(objective, n_trials=trials)
    return study.trials, trainer


def test_a_pruned_point_kept_longer_by_the_new_trials_rungs_is_trained_again(search_cfg: Config) -> None:
    trials, trainer = _search(search_cfg, pruned={0})
    assert [t.state for t in trials] == [TrialState.PRUNED, TrialState.COMPLETE]
    assert len(trainer.calls) == 2  # trained again, to its full budget this time
    assert trials[1].user_attrs["retrain_of"] == 0 and "repeat_of" not in trials[1].user_attrs
    # Unet + resnet18 at lr 1e-3: 0.8 * (1 - 0.5**epoch); epoch 1 from the twin, 2 and 3 trained.
    assert trials[1].intermediate_values == pytest.approx({1: 0.4, 2: 0.6, 3: 0.7})
    assert trials[1].value == pytest.approx(curve_value("Unet", "resnet18", 1e-3, 3))


def test_a_pruned_point_that_the_new_rungs_prune_too_is_not_trained_again(search_cfg: Config) -> None:
    trials, trainer = _search(search_cfg, pruned={0, 1})
    assert [t.state for t in trials] == [TrialState.PRUNED, TrialState.PRUNED]
    assert len(trainer.calls) == 1
    assert trials[1].user_attrs["repeat_of"] == 0 and "retrain_of" not in trials[1].user_attrs


def test_a_complete_twin_wins_over_a_pruned_one(search_cfg: Config) -> None:
    trials, trainer = _search(search_cfg, pruned={0}, trials=3)
    assert [t.state for t in trials] == [TrialState.PRUNED, TrialState.COMPLETE, TrialState.COMPLETE]
    assert len(trainer.calls) == 2 and trials[2].user_attrs["repeat_of"] == 1
    study = optuna.create_study()
    for t in trials:
        study.add_trial(t)
    assert judged_twin(study, trials[0].user_attrs["config"]).number == 1
    assert "trained again: #0 was pruned" in progress_line(study, trials[1], "val_iou")


def test_a_trial_that_trained_its_whole_budget_is_never_pruned(search_cfg: Config) -> None:
    # Hyperband's brackets all have a rung at 9 epochs (1 * 3**2): pruning there saves nothing and
    # would lose the score of a trial that finished. Earlier rungs still prune.
    last = search_cfg.search.epochs
    trials, _ = _search(search_cfg, pruned=set(), trials=1, pruner=PruneEveryTrialAtEpoch(last))
    assert trials[0].state == TrialState.COMPLETE
    assert trials[0].value == pytest.approx(curve_value("Unet", "resnet18", 1e-3, last))
    trials, _ = _search(search_cfg, pruned=set(), trials=1, pruner=PruneEveryTrialAtEpoch(last - 1))
    assert trials[0].state == TrialState.PRUNED and trials[0].last_step == last - 1


def test_a_twin_pruned_at_its_last_epoch_is_not_pruned_again(search_cfg: Config) -> None:
    # A study from before that rule may hold one: its repeat is not judged at that epoch either.
    last = search_cfg.search.epochs
    trainer = CurveTrainer()
    objective = Objective(search_cfg, load_space(search_cfg.search.space, search_cfg), trainer, NullTracker(), "val_iou")
    twin = optuna.trial.create_trial(
        state=TrialState.PRUNED,
        params={},
        distributions={},
        intermediate_values={e: curve_value("Unet", "resnet18", 1e-3, e) for e in range(1, last + 1)},
        user_attrs={"config": objective.trial_params(optuna.trial.FixedTrial(POINT))},
    )
    study = optuna.create_study(direction="maximize", pruner=PruneEveryTrialAtEpoch(last))
    study.add_trial(twin)
    study.enqueue_trial(POINT)
    study.optimize(objective, n_trials=1)
    repeat = study.trials[1]
    assert repeat.state == TrialState.COMPLETE and repeat.user_attrs["retrain_of"] == 0
    assert repeat.value == pytest.approx(curve_value("Unet", "resnet18", 1e-3, last))
