"""The trial objective: sample a point, train it, log and report each epoch's metrics (the pruner
sees the validation score), record why a trial failed.

Training is behind the small :class:`Trainer` interface: the default trains with
:func:`~automl_al.training.supervised.train_supervised` on the pool's labeled images; the tabular
benchmark (``benchmarks/search_efficiency.py``) plugs in a replay of cached learning curves.
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import optuna
from optuna.trial import TrialState

from automl_al.config import Config, ConfigError
from automl_al.search.failures import classify, describe, ends_study, requeue
from automl_al.search.repeats import judged_twin, prunes_again, prunes_at
from automl_al.search.runs import TrialRun, trial_run
from automl_al.search.samplers import sampled_space
from automl_al.search.space import SearchSpace, apply_params
from automl_al.tracking import Tracker

if TYPE_CHECKING:
    from automl_al.data import PreparedData

EpochHook = Callable[[int, dict[str, float]], None]


@dataclass
class TrialOutcome:
    """What a trainer returns: the objective value and the metrics of the epoch that gave it."""

    value: float
    metrics: dict[str, float] = field(default_factory=dict)


class Trainer(Protocol):
    """Train ``cfg`` for ``cfg.train.epochs`` epochs, calling ``on_epoch(epoch, metrics)`` after each
    (it may raise ``optuna.TrialPruned``); ``monitor`` names the metric to maximise."""

    def __call__(self, cfg: Config, on_epoch: EpochHook, monitor: str) -> TrialOutcome: ...


class SupervisedTrainer:
    """Trains on the pool's labeled images; data are prepared once per distinct data section
    (only ``architecture.image_size`` changes it between trials). Metrics are logged by the
    objective (per-epoch training and validation only: test scores play no part in a search)."""

    def __init__(self, *, progress: bool = True) -> None:
        self.progress = progress
        self._prepared: dict[str, PreparedData] = {}

    def _data(self, cfg: Config) -> PreparedData:
        from automl_al.data import prepare_data

        key = cfg.data.model_dump_json()
        if key not in self._prepared:
            prepared = prepare_data(cfg, progress=self.progress)
            if not prepared.splits["val"]:
                raise ConfigError(
                    f"the search scores each trial on the validation split, which is empty (test "
                    f"{len(prepared.splits['test'])}, pool {len(prepared.splits['pool'])} images; whole "
                    "patients go to one split); raise data.val_fraction, or lower data.test_fraction when "
                    "the data has few patients"
                )
            self._prepared[key] = prepared
        return self._prepared[key]

    def __call__(self, cfg: Config, on_epoch: EpochHook, monitor: str) -> TrialOutcome:
        from automl_al.training.supervised import train_supervised

        try:
            result = train_supervised(
                cfg, self._data(cfg), on_epoch=on_epoch, progress=self.progress, score_test=False
            )
        finally:
            # Free the trial's model (and GPU memory) held in reference cycles before the next trial;
            # here rather than Optuna's gc_after_trial, which costs ~0.5 s even for a replayed trial.
            gc.collect()
        return TrialOutcome(result.fit.best_metrics[monitor], dict(result.fit.best_metrics))


class Objective:
    """``objective(trial) -> validation score``; see :mod:`automl_al.search.failures` for failures."""

    def __init__(self, cfg: Config, space: SearchSpace, trainer: Trainer, tracker: Tracker, monitor: str) -> None:
        self.cfg = cfg
        self.space = sampled_space(cfg.search.sampler, space)  # as the study's sampler learns from it
        self.trainer = trainer
        self.tracker = tracker
        self.monitor = monitor

    def trial_params(self, trial: optuna.Trial) -> dict[str, Any]:
        """Dotted config values of this trial: the sampled point, retry overrides, the epoch budget."""
        params = self.space.suggest(trial)
        params.update(trial.user_attrs.get("overrides", {}))
        params["train.epochs"] = self.cfg.search.epochs
        return params

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.trial_params(trial)
        trial.set_user_attr("config", params)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        twin = judged_twin(trial.study, params)
        repeat = twin if twin is not None and (twin.state == TrialState.COMPLETE or prunes_again(trial, twin, self.cfg.search.epochs)) else None
        reported: set[int] = set()  # epochs already reported to the trial (from a pruned twin)
        if repeat is not None:
            trial.set_user_attr("repeat_of", repeat.number)
        elif twin is not None:
            trial.set_user_attr("retrain_of", twin.number)  # this trial's rungs keep it longer
            reported = set(twin.intermediate_values)
        with trial_run(self.tracker, trial, params) as run:
            if repeat is not None:
                return _repeat(repeat, run)
            try:
                trial_cfg = apply_params(self.cfg, params)
                outcome = self.trainer(trial_cfg, lambda epoch, m: self._report(trial, epoch, m, reported), self.monitor)
            except optuna.TrialPruned:
                run.finish("pruned")
                raise
            except (Exception, KeyboardInterrupt) as e:
                kind, reason = classify(e), describe(e)
                trial.set_user_attr("fail_kind", kind)
                trial.set_user_attr("fail_reason", reason)
                requeue(trial.study, trial, kind)
                run.finish("failed", fail_kind=kind, fail_reason=reason)
                if ends_study(e):
                    trial.study.stop()
                raise
            run.finish("complete", value=outcome.value)
        return outcome.value

    def _report(self, trial: optuna.Trial, epoch: int, metrics: dict[str, float], reported: set[int]) -> None:
        self.tracker.log_metrics(metrics, step=epoch)
        if epoch in reported:
            return  # judged on the twin's value already: training is seeded, so it is this one
        trial.report(metrics[self.monitor], epoch)
        if prunes_at(trial, epoch, self.cfg.search.epochs):
            raise optuna.TrialPruned(f"pruned after epoch {epoch}: {self.monitor}={metrics[self.monitor]:.4f}")


def _repeat(twin: optuna.trial.FrozenTrial, run: TrialRun) -> float:
    """Judge a trial by its twin's result instead of training the same configuration again."""
    if twin.state == TrialState.PRUNED:
        run.finish("pruned")
        raise optuna.TrialPruned(f"same configuration as trial {twin.number}, which was pruned")
    assert twin.value is not None
    run.finish("complete", value=twin.value)
    return twin.value
