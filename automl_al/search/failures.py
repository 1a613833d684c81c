"""What a failed trial leaves behind, and which failures are worth another attempt.

A trial that raises is recorded as FAIL with ``fail_kind`` / ``fail_reason`` user attributes and the
study goes on, unless the data or the config failed (:func:`ends_study`: every trial would). Three kinds are re-queued (``study.enqueue_trial``) with the same parameters:
- ``out_of_memory``: once, with half the batch size (an ``overrides`` user attribute, because a
  halved batch may lie outside the space's choices);
- ``interrupted`` (Ctrl-C): the trial was never judged, so it runs again when a worker next asks;
- ``worker_lost`` (killed process, stale heartbeat): likewise, up to MAX_LOST_ATTEMPTS times, so a
  configuration that kills its worker (the kernel's OOM killer) cannot loop forever.
A retry carries ``retry_of`` (the failed trial's number); a failed trial with a retry does not count
towards ``search.n_trials``, so the budget counts judged configurations only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl_al.errors import AutomlAlError
from automl_al.training import NonFiniteLossError

MAX_LOST_ATTEMPTS = 3
REASON_CHARS = 500
log = logging.getLogger(__name__)


def classify(exc: BaseException) -> str:
    """A short, stable name for why a trial failed (a user attribute and an MLflow tag)."""
    import torch

    from automl_al.models.rules import IncompatibleModelError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, torch.OutOfMemoryError):
        return "out_of_memory"
    if isinstance(exc, NonFiniteLossError):
        return "non_finite_loss"
    if isinstance(exc, IncompatibleModelError):
        return "incompatible_model"
    return "error"


def ends_study(exc: BaseException) -> bool:
    """A failure every trial would meet (the data or the config, not the sampled point): the study
    stops after this trial instead of failing each of the rest the same way."""
    from automl_al.config import ConfigError
    from automl_al.data.records import DataError

    return isinstance(exc, (ConfigError, DataError))


def is_expected(exc: BaseException) -> bool:
    """A failure the user can act on from its one-line reason (a bad weights file, an incompatible
    pair, out of memory, a non-finite loss); any other exception is a bug whose traceback matters."""
    return isinstance(exc, AutomlAlError) or classify(exc) != "error"


class _TracebackOnlyForBugs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_expected(record.exc_info[1]):
            log.debug("trial failed", exc_info=record.exc_info)  # shown with -v
            record.exc_info = record.exc_text = None
        return True


@contextmanager
def tracebacks_only_for_bugs() -> Iterator[None]:
    """Optuna logs every failed trial with its traceback, which buries the progress lines when, say,
    every trial lacks its pretrained weights. For an expected failure (:func:`is_expected`) its
    warning keeps the one-line reason and the traceback goes to DEBUG; a bug keeps its traceback."""
    logger = logging.getLogger("optuna.study._optimize")
    only_bugs = _TracebackOnlyForBugs()
    logger.addFilter(only_bugs)
    try:
        yield
    finally:
        logger.removeFilter(only_bugs)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:REASON_CHARS]


def requeue(study: optuna.Study, trial: FrozenTrial | optuna.Trial, kind: str) -> bool:
    """Enqueue another attempt of ``trial`` if ``kind`` allows one; returns whether it did."""
    attrs: Mapping[str, Any] = trial.user_attrs
    overrides = dict(attrs.get("overrides", {}))
    attempt = int(attrs.get("attempt", 1))
    if kind == "out_of_memory":
        batch = int(attrs.get("config", {}).get("train.batch_size", 1))
        if "train.batch_size" in overrides or batch < 2:
            return False
        overrides["train.batch_size"] = batch // 2
    elif kind == "worker_lost":
        if attempt >= MAX_LOST_ATTEMPTS:
            return False
    elif kind != "interrupted":
        return False
    study.enqueue_trial(
        dict(trial.params),
        user_attrs={"retry_of": trial.number, "retry_reason": kind, "attempt": attempt + 1, "overrides": overrides},
    )
    return True


def retry_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat callback for RDB storages: a stale RUNNING trial's worker died; run it again."""
    requeue(study, trial, "worker_lost")


def recover_orphans(study: optuna.Study) -> list[int]:
    """Fail and re-queue every RUNNING trial; only call this while holding the storage's worker lock
    (SQLite: one worker at a time), when every RUNNING trial belongs to a dead process."""
    recovered = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        requeue(study, trial, "worker_lost")
        recovered.append(trial.number)
    return recovered


def retried_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    return {int(t.user_attrs["retry_of"]) for t in trials if "retry_of" in t.user_attrs}


def judged_count(trials: list[FrozenTrial]) -> int:
    """Trials that count towards ``search.n_trials``: complete, pruned, or failed for good."""
    retried = retried_numbers(trials)
    return sum(
        t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and t.number not in retried)
        for t in trials
    )
