"""``run_search``: an Optuna study over a search-space file, resumable and shareable by workers.

Example:
    >>> from automl_al.config import load_config
    >>> cfg = load_config(None, ["data.demo.size=32", "search.n_trials=2", "search.epochs=1"])  # doctest: +SKIP
    >>> result = run_search(cfg)                                                               # doctest: +SKIP
    >>> result.best_config.model.encoder, result.best_config_path                             # doctest: +SKIP

``search.n_trials`` is the study's TOTAL target: running the same command again resumes and only
tops the study up to it (a trial counts once judged: complete, pruned or failed without a retry).
The best trial's full config is written to ``<run_dir>/best.yaml``; ``automl-al train best.yaml``
trains it again the same way (same seed, ``train.epochs = search.epochs``).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from automl_al.config import Config, save_config
from automl_al.errors import AutomlAlError
from automl_al.models import check_weights_file
from automl_al.search.failures import judged_count, recover_orphans, tracebacks_only_for_bugs
from automl_al.search.leaderboard import format_table, leaderboard_rows, progress_callback, to_csv, trial_config
from automl_al.search.objective import Objective, SupervisedTrainer, Trainer
from automl_al.search.pruners import make_pruner
from automl_al.search.runs import ensure_parent_run, parent_run
from automl_al.search.samplers import make_sampler
from automl_al.search.space import SearchSpace, SearchSpaceError, apply_params, load_space, resolve_space_path
from automl_al.search.storage import (
    creation_lock,
    default_storage_url,
    display_url,
    open_storage,
    open_study,
    worker_lock,
)
from automl_al.tracking import NullTracker, Tracker
from automl_al.training.metrics import monitored_metric

log = logging.getLogger(__name__)


class SearchError(AutomlAlError, RuntimeError):
    """The search cannot go on or produced nothing usable; the message says what to do."""


@dataclass
class SearchResult:
    study_name: str
    storage: str  # password masked
    best_trial: int
    best_params: dict[str, Any]  # dotted config keys -> values
    best_value: float
    best_config: Config
    best_config_path: Path
    leaderboard: list[dict[str, Any]]


def _study_signature(space: SearchSpace, cfg: Config) -> dict[str, Any]:
    return {"space_fingerprint": space.fingerprint(), "epochs": cfg.search.epochs}


def _record_or_check(study: optuna.Study, space: SearchSpace, cfg: Config, monitor: str) -> None:
    """A new study records what it searches; a resumed one must search the same thing."""
    expected = _study_signature(space, cfg)
    stored = {k: study.user_attrs.get(k) for k in expected}
    if all(v is None for v in stored.values()):
        for k, v in {**expected, "space": str(space.path), "task": space.task, "metric": monitor}.items():
            study.set_user_attr(k, v)
        return
    if stored != expected:
        raise SearchError(
            f"study {study.study_name!r} was created with space {study.user_attrs.get('space')} and "
            f"search.epochs={stored['epochs']}; now {space.path} and {cfg.search.epochs}. Scores would not "
            "compare: use the original settings to resume, or a new study name (--study NAME)"
        )


def _sampler_seed(seed: int, n_existing: int, single_worker: bool) -> int:
    """Deterministic for one worker, but new on resume (a re-seeded sampler would re-propose its
    first points) and distinct between concurrent workers (which would otherwise sample alike)."""
    entropy = [seed, n_existing] + ([] if single_worker else [os.getpid()])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class _StopAtTarget:
    """Stop this worker once the judged trials plus those other workers are running reach
    ``n_trials``, so N workers never overshoot the budget by N - 1 trials. A running trial of a dead
    worker is failed (and re-queued) first, so it cannot hold the budget."""

    def __init__(self, n_trials: int) -> None:
        self.n_trials = n_trials

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since v2.9
            optuna.storages.fail_stale_trials(study)  # a no-op without heartbeats (one worker)
        trials = study.get_trials(deepcopy=False)
        in_flight = sum(t.state == TrialState.RUNNING for t in trials)
        if judged_count(trials) + in_flight >= self.n_trials:
            study.stop()


def _optimize(study: optuna.Study, objective: Objective, cfg: Config, progress: bool) -> None:
    done = judged_count(study.get_trials(deepcopy=False))
    if done >= cfg.search.n_trials:
        log.info("study %r already holds %d judged trials (search.n_trials=%d)", study.study_name, done, cfg.search.n_trials)
        return
    callbacks: list[Any] = [_StopAtTarget(cfg.search.n_trials)]
    if progress:
        callbacks.append(progress_callback(objective.monitor))
    with tracebacks_only_for_bugs():
        study.optimize(objective, timeout=cfg.search.timeout, catch=(Exception,), callbacks=callbacks)


def _finish(study: optuna.Study, cfg: Config, tracker: Tracker, url: str, progress: bool) -> SearchResult:
    trials = study.get_trials(deepcopy=False)
    rows = leaderboard_rows(trials)
    csv_path = cfg.run_dir / "search" / "leaderboard.csv"
    to_csv(rows, csv_path)
    tracker.log_artifact(csv_path)
    if progress:
        print(format_table(rows))
    if not any(t.state == TrialState.COMPLETE for t in trials):
        failed = [t.user_attrs.get("fail_reason") for t in trials if t.state == TrialState.FAIL]
        common = f"; {len(failed)} failed with {failed[0]}" if failed and len(set(failed)) == 1 and failed[0] else ""
        raise SearchError(
            f"no trial of study {study.study_name!r} completed{common}; see the fail_reason column of {csv_path}"
        )
    best = study.best_trial
    params = trial_config(best)
    best_config = apply_params(cfg, params)
    best_path = cfg.run_dir / "best.yaml"
    save_config(best_config, best_path)
    tracker.log_artifact(best_path)
    tracker.set_tags({"best_trial": best.number})
    tracker.log_metrics({"best_value": float(best.value)})
    if progress:
        print(f"best: trial {best.number}, {study.user_attrs.get('metric')}={best.value:.4f} -> {best_path}")
    return SearchResult(study.study_name, display_url(url), best.number, params, float(best.value), best_config, best_path, rows)


def run_search(
    cfg: Config,
    *,
    tracker: Tracker | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    progress: bool = True,
    trainer: Trainer | None = None,
) -> SearchResult:
    """Run (or resume, or join) the study of ``cfg.search`` and write ``<run_dir>/best.yaml``.

    ``storage``/``study_name`` override ``search.storage``/``search.study`` (defaults: SQLite in
    ``<run_dir>/search/optuna.db``, the config's ``name``). ``tracker=None`` tracks nothing.
    ``trainer`` replaces supervised training (e.g. a replay of cached learning curves).
    """
    check_weights_file(cfg.model.encoder_weights)
    space = load_space(resolve_space_path(cfg.search.space), cfg)
    if space.task != cfg.task:
        raise SearchSpaceError(f"{space.path}: task: the space is for {space.task} but the config's task is {cfg.task}")
    url = storage or cfg.search.storage or default_storage_url(cfg.run_dir)
    name = study_name or cfg.search.study or cfg.name
    tracker = tracker or NullTracker()
    monitor = monitored_metric(cfg.task, True)[0]
    tags = {
        "stage": "search",
        "sampler": cfg.search.sampler,
        "pruner": cfg.search.pruner,
        "space": str(space.path),
        "storage": display_url(url),
        "study": name,
    }
    with worker_lock(url) as single_worker:
        with creation_lock(url):
            study = open_study(open_storage(url, single_worker=single_worker), name)
            _record_or_check(study, space, cfg, monitor)
            ensure_parent_run(tracker, study, tags)
        if single_worker and (orphans := recover_orphans(study)):
            log.warning("re-queued trial(s) %s left running by a stopped process", orphans)
        n_existing = len(study.get_trials(deepcopy=False))
        study.sampler = make_sampler(cfg.search.sampler, space, _sampler_seed(cfg.seed, n_existing, single_worker), cfg.search.n_trials)
        study.pruner = make_pruner(cfg.search.pruner, cfg.search.epochs)
        objective = Objective(cfg, space, trainer or SupervisedTrainer(progress=progress), tracker, monitor)
        if progress:
            print(f"search: study {name!r} on {display_url(url)}: {len(space.architectures)} architectures, "
                  f"{space.size or 'continuous'} points, target {cfg.search.n_trials} trials")
        with parent_run(tracker, study, tags):
            _optimize(study, objective, cfg, progress)
            return _finish(study, cfg, tracker, url, progress)
