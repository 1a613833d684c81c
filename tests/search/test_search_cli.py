"""``automl-al search`` on the built-in demo with real training: end to end, a NaN-loss trial,
``best.yaml`` through ``automl-al train``, and a worker killed with SIGKILL mid-trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from automl_al.cli import main
from automl_al.config import load_config
from automl_al.search.storage import default_storage_url

CLI = "import sys; from automl_al.cli import main; sys.exit(main(sys.argv[1:]))"

# Two tiny architectures; lr 1e10 with SGD makes the loss overflow: a real NonFiniteLossError.
SPACE = """\
task: segmentation
architecture:
  arch: [Unet, Linknet]
  encoder: [resnet18]
  encoder_depth: [3]
valid_architectures: 2
params:
  train.lr: [1.0e-3, 1.0e+10]
"""


def _config(tmp_path: Path, space_text: str = SPACE, **search) -> Path:
    space = tmp_path / "space.yaml"
    space.write_text(space_text)
    cfg = {
        "name": "demo-search",
        "run_dir": str(tmp_path / "run"),
        "data": {"source": "demo", "image_size": [32, 32], "augment": "none", "demo": {"n_patients": 8, "slices_per_patient": 4, "size": 32}},
        "model": {"encoder_depth": 3},
        "train": {"batch_size": 8, "optimizer": "sgd", "amp": False, "device": "cpu"},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        "search": {"space": str(space), "n_trials": 4, "epochs": 2, "sampler": "grid", "pruner": "none", **search},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _study(cfg_path: Path) -> optuna.Study:
    cfg = load_config(cfg_path)
    return optuna.load_study(study_name=cfg.name, storage=default_storage_url(cfg.run_dir))


def test_demo_search_end_to_end(tmp_path: Path, capsys) -> None:
    cfg_path = _config(tmp_path)
    assert main(["search", str(cfg_path)]) == 0
    trials = _study(cfg_path).trials
    by_lr = {lr: [t for t in trials if t.params["train.lr"] == lr] for lr in (1e-3, 1e10)}
    # The grid visits all four points; the NaN-loss ones are recorded and the study goes on.
    assert len(trials) == 4 and all(len(v) == 2 for v in by_lr.values())
    assert all(t.state == TrialState.COMPLETE and 0.0 <= t.value <= 1.0 for t in by_lr[1e-3])
    assert all(t.state == TrialState.FAIL and t.user_attrs["fail_kind"] == "non_finite_loss" for t in by_lr[1e10])
    out = capsys.readouterr().out
    assert "[non_finite_loss]" in out and "rank  trial  state" in out
    best = tmp_path / "run" / "best.yaml"
    best_cfg = load_config(best)
    assert best_cfg.train.lr == 1e-3 and best_cfg.train.epochs == 2
    assert main(["train", str(best)]) == 0  # the train verb accepts it


def test_killed_worker_repeats_no_completed_trial(tmp_path: Path) -> None:
    cfg_path = _config(tmp_path, SPACE.replace("1.0e+10", "3.0e-4"), n_trials=3, sampler="random", epochs=3)
    storage = default_storage_url(load_config(cfg_path).run_dir)
    cmd = [sys.executable, "-c", CLI, "search", str(cfg_path), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one torch thread, as in-process tests (conftest)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    before: list[optuna.trial.FrozenTrial] = []
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                trials = optuna.load_study(study_name="demo-search", storage=storage).trials
            except Exception:  # storage or study not created yet
                continue
            states = [t.state for t in trials]
            if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
                os.kill(proc.pid, signal.SIGKILL)
                before = trials
                break
    finally:
        if proc.poll() is None and not before:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert before, "never saw a completed trial followed by a running one"
    before = optuna.load_study(study_name="demo-search", storage=storage).trials  # as the kill left them
    killed = before[-1]
    assert killed.state == TrialState.RUNNING
    done_before = {t.number: t.params for t in before if t.state == TrialState.COMPLETE}

    assert subprocess.run(cmd, capture_output=True, timeout=300, env=env).returncode == 0
    after = optuna.load_study(study_name="demo-search", storage=storage).trials
    assert {t.number: t.params for t in after if t.number in done_before} == done_before  # untouched
    assert after[killed.number].state == TrialState.FAIL  # the killed trial, failed by the restart ...
    (retry,) = [t for t in after if t.user_attrs.get("retry_of") == killed.number]
    # ... and run again: the point as far as it was sampled (a kill between two suggestions leaves
    # the rest to the sampler)
    assert retry.params.items() >= killed.params.items() and retry.state == TrialState.COMPLETE
    assert sum(t.state == TrialState.COMPLETE for t in after) == 3  # the target, nothing repeated
    assert len(after) == 4
