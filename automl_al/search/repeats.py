"""A configuration is trained once per study: when the sampler proposes one that an earlier trial
already judged, the new trial takes that trial's result (Optuna's FAQ, "How can I ignore duplicated
samples?"). Training is seeded, so training it again would give the same curve at full cost;
small or converged spaces (the demo's has 4 points) otherwise spend much of their budget on repeats.

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
    """The first complete or pruned trial of ``study`` that trained exactly ``config``, or None.

    >>> study = optuna.create_study()
    >>> study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"config": {"train.lr": 0.01}}))
    >>> judged_twin(study, {"train.lr": 0.01}).number, judged_twin(study, {"train.lr": 0.1})
    (0, None)
    """
    wanted = _as_stored(config)
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if "config" in t.user_attrs and _as_stored(t.user_attrs["config"]) == wanted:
            return t
    return None


def _as_stored(config: Mapping[str, Any]) -> Any:
    """As an RDB storage gives it back (JSON: tuples become lists), so both sides compare alike."""
    return json.loads(json.dumps(dict(config), sort_keys=True))
