"""The study's run tree in the tracker: one parent run per study, one child run per trial.

Written here rather than with optuna-integration's (deprecated) ``MLflowCallback``, because a
callback only sees a trial after it ends, and users want per-epoch curves while it runs. Works on
the :class:`~automl_al.tracking.Tracker` protocol, so it never imports MLflow.

The parent run's id is kept in the study (user attribute ``tracking_run_id``): a resumed search
and every worker of a shared study log under the same parent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import optuna

from automl_al.tracking import Tracker

log = logging.getLogger(__name__)

PARENT_ATTR = "tracking_run_id"


def trial_run_name(number: int) -> str:
    return f"trial-{number:03d}"


def ensure_parent_run(tracker: Tracker, study: optuna.Study, tags: Mapping[str, str]) -> str | None:
    """Create the study's parent run once (call under the storage's creation lock)."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id:
        return run_id
    with tracker.start_run(study.study_name, tags=dict(tags)) as new_id:
        pass
    if new_id:
        study.set_user_attr(PARENT_ATTR, new_id)
    return new_id or None


@contextlib.contextmanager
def parent_run(tracker: Tracker, study: optuna.Study, tags: Mapping[str, str]) -> Iterator[None]:
    """Re-open the study's parent run and (re)state its tags: this worker's sampler may differ.

    If the stored run is gone (another tracking store, a deleted database), a new parent replaces it.
    """
    run_id = study.user_attrs.get(PARENT_ATTR)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(tracker.start_run(study.study_name, tags=dict(tags), run_id=run_id))
        except Exception as e:  # the tracker's "no such run"; anything else fails again just below
            log.warning("tracking run %s of study %r cannot be reopened (%s); starting a new one", run_id, study.study_name, e)
            new_id = stack.enter_context(tracker.start_run(study.study_name, tags=dict(tags)))
            study.set_user_attr(PARENT_ATTR, new_id)
        tracker.set_tags(tags)
        yield


class TrialRun:
    """The child run of one trial; ``finish`` records the final state as the ``state`` tag."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def finish(self, state: str, *, value: float | None = None, fail_kind: str = "", fail_reason: str = "") -> None:
        tags: dict[str, Any] = {"state": state}
        if fail_kind:
            tags.update(fail_kind=fail_kind, fail_reason=fail_reason)
        self.tracker.set_tags(tags)
        if value is not None:
            self.tracker.log_metrics({"objective": value})


@contextlib.contextmanager
def trial_run(tracker: Tracker, trial: optuna.Trial, params: Mapping[str, Any]) -> Iterator[TrialRun]:
    """A child run named ``trial-NNN`` holding the trial's parameters; metrics logged inside land in it."""
    tags = {"trial_number": str(trial.number), "study": trial.study.study_name}
    for key in ("retry_of", "repeat_of", "retrain_of"):
        if key in trial.user_attrs:
            tags[key] = str(trial.user_attrs[key])
    with tracker.start_run(trial_run_name(trial.number), tags=tags):
        tracker.log_params(params)
        yield TrialRun(tracker)
