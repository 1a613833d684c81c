"""The study's MLflow tree: a parent run per study, a child run per trial with per-epoch metrics,
params and final state; the best config logged; a resumed search logs under the same parent."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from automl_al.config import Config
from automl_al.search import run_search
from automl_al.tracking import MlflowTracker
from search_helpers import CurveTrainer


def test_parent_and_child_runs(search_cfg: Config, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    fail_fpn = CurveTrainer(lambda cfg: ValueError("no FPN today") if cfg.model.arch == "FPN" else None)
    cfg = search_cfg.model_copy(update={"search": search_cfg.search.model_copy(update={"n_trials": 5})})
    run_search(cfg, tracker=MlflowTracker("search-test", uri), trainer=fail_fpn, progress=False)

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("search-test")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert parent.info.run_name == "tiny"
    tags = parent.data.tags
    assert (tags["sampler"], tags["pruner"], tags["study"]) == ("random", "none", "tiny")
    assert tags["space"] == str(cfg.search.space) and tags["storage"].startswith("sqlite:///")
    assert sorted(children) == [f"trial-00{i}" for i in range(5)]
    states = {name: r.data.tags["state"] for name, r in children.items()}
    assert set(states.values()) <= {"complete", "failed"} and "complete" in states.values()
    for name, run in children.items():
        assert run.data.params["model.arch"] in ("Unet", "FPN")
        assert run.data.params["train.epochs"] == "3"
        if run.data.params["model.arch"] == "FPN":
            assert states[name] == "failed" and run.data.tags["fail_reason"] == "ValueError: no FPN today"
        else:
            assert states[name] == "complete"
            history = client.get_metric_history(run.info.run_id, "val_iou")
            assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3]
            assert run.data.metrics["objective"] == pytest.approx(max(m.value for m in history))
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"best.yaml", "leaderboard.csv"} <= artifacts
    assert int(parent.data.tags["best_trial"]) in range(5)

    # Resuming adds children under the same parent.
    more = cfg.model_copy(update={"search": cfg.search.model_copy(update={"n_trials": 6})})
    run_search(more, tracker=MlflowTracker("search-test", uri), trainer=CurveTrainer(), progress=False)
    runs = client.search_runs([exp.experiment_id])
    assert len([r for r in runs if "mlflow.parentRunId" not in r.data.tags]) == 1
    assert "trial-005" in {r.info.run_name for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}


def test_resume_into_a_fresh_tracking_store_starts_a_new_parent(search_cfg: Config, tmp_path: Path) -> None:
    one = search_cfg.model_copy(update={"search": search_cfg.search.model_copy(update={"n_trials": 1})})
    run_search(one, tracker=MlflowTracker("a", f"sqlite:///{tmp_path / 'a.db'}"), trainer=CurveTrainer(), progress=False)
    two = search_cfg.model_copy(update={"search": search_cfg.search.model_copy(update={"n_trials": 2})})
    uri_b = f"sqlite:///{tmp_path / 'b.db'}"
    run_search(two, tracker=MlflowTracker("b", uri_b), trainer=CurveTrainer(), progress=False)
    client = MlflowClient(uri_b)
    runs = client.search_runs([client.get_experiment_by_name("b").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.run_name for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id] == ["trial-001"]
