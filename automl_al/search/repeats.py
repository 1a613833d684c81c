"""A configuration is trained once per study: when the sampler proposes one that an earlier trial
already judged, the new trial takes that trial's result (Optuna's FAQ, "How can I ignore duplicated
samples?"). Training is seeded, so training it again would give the same curve at full cost;
small or converged spaces (the demo's has 4 points) otherwise spend much of their budget on repeats.

A pruned twin is judged again by the new trial's own pruning rungs, on the epochs the twin
reported: Hyperband puts trials into brackets that prune at different epochs, and a configuration
that a first-epoch rung stopped must still get its full budget in a bracket that waits longer
(otherwise one slow first epoch would rule a configuration out for the rest of the study). Only
when those rungs keep it past the twin's last epoch is it trained again.

A repeat still counts towards ``search.n_trials``, so a sampler that keeps proposing known points
ends the study rather than looping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState


def judged_twin(study: optuna.Study, config: Mapping[str, Any]) -> FrozenTrial | None:
    """The first complete trial of ``study`` that trained exactly ``config``; without one, the
    pruned trial of it that got furthest; None if no trial judged it.

    >>> study = optuna.create_study()
    >>> study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"config": {"train.lr": 0.01}}))
    >>> judged_twin(study, {"train.lr": 0.01}).number, judged_twin(study, {"train.lr": 0.1})
    (0, None)
    """
    wanted = _as_stored(config)
    twins = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if "config" in t.user_attrs and _as_stored(t.user_attrs["config"]) == wanted
    ]
    complete = [t for t in twins if t.state == TrialState.COMPLETE]
    if complete:
        return complete[0]
    return max(twins, key=lambda t: (len(t.intermediate_values), -t.number), default=None)


def prunes_at(trial: optuna.Trial, epoch: int, epochs: int) -> bool:
    """Does ``trial``'s pruner stop it after ``epoch``, its last report?

    Never after the last of the ``epochs`` budget: the training is spent by then, and Hyperband's
    brackets all have a rung there (epochs are counted from 1, rungs at 1, 3, 9, ...), which would
    throw away a finished trial's score.
    """
    return epoch < epochs and trial.should_prune()


def prunes_again(trial: optuna.Trial, twin: FrozenTrial, epochs: int) -> bool:
    """Report the pruned ``twin``'s epochs to ``trial``: does ``trial``'s pruner stop it there too
    (:func:`prunes_at`)? A twin pruned before any epoch was stopped by its trainer, not by a rung:
    it is pruned again.
    """
    if not twin.intermediate_values:
        return True
    for step, value in sorted(twin.intermediate_values.items()):
        trial.report(value, step)
        if prunes_at(trial, step, epochs):
            return True
    return False


def _as_stored(config: Mapping[str, Any]) -> Any:
    """As an RDB storage gives it back (JSON: tuples become lists), so both sides compare alike."""
    return json.loads(json.dumps(dict(config), sort_keys=True))
