"""run_search with a trainer whose learning curves are known: resume, failures, retries, pruning,
best.yaml and the leaderboard. (Real training end to end: test_search_cli.py.)"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from automl_al.config import Config, load_config
from automl_al.data.records import BadFileError
from automl_al.models import WeightsLoadError
from automl_al.search.objective import SupervisedTrainer
from automl_al.search import SearchError, run_search
from automl_al.search.leaderboard import progress_line
from automl_al.search.storage import StorageError, default_storage_url, worker_lock
from automl_al.search.study import _StopAtTarget
from search_helpers import CurveTrainer, curve_value


def _study(cfg: Config) -> optuna.Study:
    return optuna.load_study(study_name=cfg.name, storage=default_storage_url(cfg.run_dir))


def _with(cfg: Config, **search) -> Config:
    return cfg.model_copy(update={"search": cfg.search.model_copy(update=search)})


def test_search_writes_best_yaml_leaderboard_and_progress_lines(search_cfg: Config, capsys) -> None:
    trainer = CurveTrainer()
    result = run_search(search_cfg, trainer=trainer)
    study = _study(search_cfg)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4 and len(trainer.calls) == 4
    # Each trial trained for search.epochs and reported every epoch's score.
    assert all(c.train.epochs == 3 for c in trainer.calls)
    assert all(sorted(t.intermediate_values) == [1, 2, 3] for t in trials)
    # The best is what the known curves say it must be.
    expected = max(trials, key=lambda t: curve_value(*_point(t), 3))
    assert result.best_trial == expected.number
    assert result.best_value == pytest.approx(curve_value(*_point(expected), 3))
    # best.yaml is a full config that load_config accepts and that reproduces the trial.
    assert result.best_config_path == search_cfg.run_dir / "best.yaml"
    best = load_config(result.best_config_path)
    assert best == result.best_config
    assert (best.model.arch, best.model.encoder, best.train.lr) == _point(expected)
    assert best.model.encoder_depth == 3 and best.data.image_size == (32, 32) and best.train.epochs == 3
    # Leaderboard: ranked by value, saved as CSV.
    with open(search_cfg.run_dir / "search" / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    values = [float(r["value"]) for r in rows]
    assert values == sorted(values, reverse=True) and rows[0]["trial"] == str(expected.number)
    assert rows[0]["model.arch"] == best.model.arch and rows[0]["rank"] == "1"
    out = capsys.readouterr().out
    assert out.count("complete  val_iou=") == 4 and "best=" in out and "model.encoder=" in out
    assert "rank  trial  state" in out


def test_tpe_trials_hold_the_architecture_factor_by_factor(search_cfg: Config) -> None:
    run_search(_with(search_cfg, sampler="tpe"), trainer=CurveTrainer())
    trials = _study(search_cfg).get_trials()
    assert len(trials) == 4
    assert all(set(t.params) == {"model.arch", "model.encoder", "train.lr", "train.batch_size"} for t in trials)
    assert all(t.params["model.arch"] == t.user_attrs["config"]["model.arch"] for t in trials)


def _point(t: optuna.trial.FrozenTrial) -> tuple[str, str, float]:
    c = t.user_attrs["config"]
    return c["model.arch"], c["model.encoder"], c["train.lr"]


def test_same_command_resumes_and_repeats_no_trial(search_cfg: Config) -> None:
    run_search(_with(search_cfg, n_trials=3), trainer=CurveTrainer(), progress=False)
    again = CurveTrainer()
    run_search(_with(search_cfg, n_trials=3), trainer=again, progress=False)
    assert again.calls == []  # target already met
    more = CurveTrainer()
    run_search(_with(search_cfg, n_trials=5), trainer=more, progress=False)
    trials = _study(search_cfg).trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert len(more.calls) == sum("repeat_of" not in t.user_attrs for t in trials[3:])  # repeats are free


def test_failing_trial_is_recorded_and_the_study_goes_on(search_cfg: Config) -> None:
    def fail(cfg: Config):
        return ValueError("decoder exploded") if cfg.model.arch == "FPN" else None

    run_search(_with(search_cfg, n_trials=6), trainer=CurveTrainer(fail), progress=False)
    trials = _study(search_cfg).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(t.user_attrs["config"]["model.arch"] == "FPN" for t in failed)
    assert all(t.user_attrs["fail_kind"] == "error" for t in failed)
    assert all("ValueError: decoder exploded" in t.user_attrs["fail_reason"] for t in failed)
    assert len(trials) == 6  # failures count towards n_trials (not retried)
    assert any(t.state == TrialState.COMPLETE for t in trials)


def test_a_data_error_stops_the_study_after_one_trial_and_is_the_error(search_cfg: Config) -> None:
    """Every trial would meet it: one failed trial, not n_trials of them, and the reason in the error."""
    broken = CurveTrainer(lambda cfg: BadFileError("/data/p1.png", "empty file (0 bytes)"))
    with pytest.raises(SearchError, match="completed; 1 failed with BadFileError: /data/p1.png: empty file"):
        run_search(_with(search_cfg, n_trials=4), trainer=broken, progress=False)
    assert [t.state for t in _study(search_cfg).trials] == [TrialState.FAIL]


def test_an_empty_validation_split_is_named_before_any_training(search_cfg: Config) -> None:
    cfg = search_cfg.model_copy(update={"data": search_cfg.data.model_copy(update={"val_fraction": 0.0})})
    with pytest.raises(SearchError, match="the validation split, which is empty .* raise data.val_fraction"):
        run_search(cfg, trainer=SupervisedTrainer(progress=False), progress=False)
    assert len(_study(cfg).trials) == 1


def test_failed_trial_logs_a_traceback_only_for_a_bug(search_cfg: Config, caplog) -> None:
    """An error the user acts on from its reason keeps Optuna's one-line warning; a bug keeps its traceback."""

    def fail(cfg: Config):
        if cfg.model.arch == "FPN":
            return WeightsLoadError("model.encoder_weights: file fpn.pth does not exist")
        return ValueError("a bug in the trainer") if cfg.model.encoder == "resnet18" else None

    with caplog.at_level(logging.DEBUG):
        run_search(_with(search_cfg, n_trials=8), trainer=CurveTrainer(fail), progress=False)
    warnings = [r for r in caplog.records if r.name == "optuna.study._optimize" and "because of" in r.getMessage()]
    expected = [r for r in warnings if "WeightsLoadError" in r.getMessage()]
    bugs = [r for r in warnings if "ValueError" in r.getMessage()]
    assert expected and bugs and len(expected) + len(bugs) == len(warnings)
    assert all(r.exc_info is None and "fpn.pth does not exist" in r.getMessage() for r in expected)
    assert all(r.exc_info is not None for r in bugs)
    moved = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info and "failures" in r.name]
    assert len(moved) == len(expected)  # the traceback of an expected failure is still there with -v
    assert not logging.getLogger("optuna.study._optimize").filters  # the filter ends with the search


def test_out_of_memory_is_retried_once_with_half_the_batch(search_cfg: Config) -> None:
    def oom_above_4(cfg: Config):
        return torch.OutOfMemoryError("CUDA out of memory") if cfg.train.batch_size > 4 else None

    run_search(_with(search_cfg, n_trials=1), trainer=CurveTrainer(oom_above_4), progress=False)
    first, retry = _study(search_cfg).trials
    assert first.state == TrialState.FAIL and first.user_attrs["fail_kind"] == "out_of_memory"
    assert retry.state == TrialState.COMPLETE
    assert retry.params == first.params  # same point ...
    assert retry.user_attrs["retry_of"] == 0 and retry.user_attrs["config"]["train.batch_size"] == 4  # ... half batch
    assert retry.user_attrs["overrides"] == {"train.batch_size": 4}


def test_out_of_memory_twice_is_not_retried_again(search_cfg: Config) -> None:
    always = CurveTrainer(lambda cfg: torch.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(SearchError, match="no trial .* completed"):
        run_search(_with(search_cfg, n_trials=1), trainer=always, progress=False)
    trials = _study(search_cfg).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL]
    assert [c.train.batch_size for c in always.calls] == [8, 4]


def test_ctrl_c_keeps_the_study_and_the_next_run_finishes_the_trial(search_cfg: Config) -> None:
    def interrupt(cfg: Config):
        return KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        run_search(_with(search_cfg, n_trials=2), trainer=CurveTrainer(interrupt), progress=False)
    (stopped, queued) = _study(search_cfg).trials
    assert stopped.state == TrialState.FAIL and stopped.user_attrs["fail_kind"] == "interrupted"
    assert queued.state == TrialState.WAITING
    resumed = CurveTrainer()
    run_search(_with(search_cfg, n_trials=2), trainer=resumed, progress=False)
    trials = _study(search_cfg).trials
    assert trials[1].state == TrialState.COMPLETE and trials[1].params == stopped.params
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]


def test_trial_left_running_by_a_dead_worker_is_rerun_with_its_params(search_cfg: Config) -> None:
    run_search(_with(search_cfg, n_trials=1), trainer=CurveTrainer(), progress=False)
    study = _study(search_cfg)
    dists = study.trials[0].distributions
    orphan = study.ask(dists)  # a worker took a trial and died: it stays RUNNING
    orphan_params = orphan.params
    run_search(_with(search_cfg, n_trials=2), trainer=CurveTrainer(), progress=False)
    trials = _study(search_cfg).trials
    assert trials[1].state == TrialState.FAIL
    assert trials[2].state == TrialState.COMPLETE and trials[2].params == orphan_params
    assert trials[2].user_attrs["retry_of"] == 1 and trials[2].user_attrs["retry_reason"] == "worker_lost"


def test_resuming_with_another_space_is_refused(search_cfg: Config, tmp_path: Path) -> None:
    run_search(_with(search_cfg, n_trials=1), trainer=CurveTrainer(), progress=False)
    other = tmp_path / "other.yaml"
    other.write_text(Path(search_cfg.search.space).read_text().replace("1.0e-4]", "3.0e-4]"))
    with pytest.raises(SearchError, match="was created with space .*--study NAME"):
        run_search(_with(search_cfg, n_trials=2, space=other), trainer=CurveTrainer(), progress=False)
    with pytest.raises(SearchError, match="search.epochs=3; now .* and 5"):
        run_search(_with(search_cfg, n_trials=2, epochs=5), trainer=CurveTrainer(), progress=False)


def test_grid_runs_every_point_once_then_stops(search_cfg: Config) -> None:
    trainer = CurveTrainer()
    run_search(_with(search_cfg, n_trials=50, sampler="grid"), trainer=trainer, progress=False)
    points = {(c.model.arch, c.model.encoder, c.train.lr) for c in trainer.calls}
    assert len(trainer.calls) == len(points) == 8


def test_median_pruner_stops_trials_below_the_median(search_cfg: Config) -> None:
    trainer = CurveTrainer()
    run_search(_with(search_cfg, n_trials=12, pruner="median", sampler="random"), trainer=trainer, progress=False)
    trials = _study(search_cfg).trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED and "repeat_of" not in t.user_attrs]
    assert pruned, "some points are clearly below the median of the earlier ones"
    for t in pruned:
        last = max(t.intermediate_values)
        assert last < 3  # stopped before the epoch budget ...
        others = [u.intermediate_values[last] for u in trials if u.number < t.number and last in u.intermediate_values]
        assert t.intermediate_values[last] < sorted(others)[len(others) // 2]  # ... for being below the median


def test_second_worker_on_one_sqlite_file_is_refused(search_cfg: Config) -> None:
    url = default_storage_url(search_cfg.run_dir)
    with worker_lock(url):
        with pytest.raises(StorageError, match="SQLite allows one worker .* postgresql"):
            run_search(search_cfg, trainer=CurveTrainer(), progress=False)


def test_a_worker_stops_when_trials_running_elsewhere_fill_the_budget() -> None:
    study = optuna.create_study(direction="maximize")
    elsewhere = study.ask()  # another worker's trial, still running
    study.optimize(lambda trial: 0.5, n_trials=5, callbacks=[_StopAtTarget(3)])
    states = [t.state for t in study.get_trials()]
    # 1 running elsewhere + 2 run here = the budget of 3; without counting it, this worker runs 3.
    assert states == [TrialState.RUNNING, TrialState.COMPLETE, TrialState.COMPLETE]
    study.tell(elsewhere, 0.1)


def test_a_configuration_is_trained_once_and_its_repeats_take_its_result(search_cfg: Config) -> None:
    trainer = CurveTrainer(lambda cfg: optuna.TrialPruned() if cfg.model.arch == "FPN" else None)
    run_search(_with(search_cfg, n_trials=16), trainer=trainer, progress=False)  # 16 draws, 8 points
    trials = _study(search_cfg).trials
    assert len(trials) == 16  # repeats count towards the budget ...
    trained = [(c.model.arch, c.model.encoder, c.train.lr) for c in trainer.calls]
    assert len(trained) == len(set(trained)) <= 8  # ... but nothing is trained twice
    repeats = [t for t in trials if "repeat_of" in t.user_attrs]
    assert len(repeats) == 16 - len(trained)
    for t in repeats:
        twin = trials[t.user_attrs["repeat_of"]]
        assert twin.number < t.number and twin.user_attrs["config"] == t.user_attrs["config"]
        assert (t.state, t.value, t.intermediate_values) == (twin.state, twin.value, {}) if twin.state == TrialState.COMPLETE \
            else (t.state, twin.state) == (TrialState.PRUNED, TrialState.PRUNED)
    assert {t.state for t in repeats} == {TrialState.COMPLETE, TrialState.PRUNED}
    line = progress_line(_study(search_cfg), repeats[0], "val_iou")
    assert f"(repeat of #{repeats[0].user_attrs['repeat_of']}, not trained again)" in line and "inf" not in line
    with open(search_cfg.run_dir / "search" / "leaderboard.csv") as f:
        assert sum(bool(r["repeat_of"]) for r in csv.DictReader(f)) == len(repeats)
