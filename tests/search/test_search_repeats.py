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


def _search(cfg: Config, pruned: set[int], trials: int = 2) -> tuple[list[optuna.trial.FrozenTrial], CurveTrainer]:
    trainer = CurveTrainer()
    objective = Objective(cfg, load_space(cfg.search.space, cfg), trainer, NullTracker(), "val_iou")
    study = optuna.create_study(direction="maximize", pruner=PruneTrialsAtEpoch(pruned))
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
