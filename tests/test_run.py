"""``automl-al run`` end to end on the built-in demo at reduced size: killed with SIGKILL after the
search, rerun, and finished without redoing the search; everything lands in MLflow (parent run,
trials, active phases, final model registered as champion), the report and the predictor."""

from __future__ import annotations

import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from run_helpers import EXPERIMENT, N_TRIALS, PHASES, REDUCED_ARGS, run_cli

pytestmark = pytest.mark.slow


@dataclass
class DemoRun:
    cwd: Path
    killed: subprocess.CompletedProcess[str]
    state_after_kill: str
    best_mtime_after_kill: int
    resumed: subprocess.CompletedProcess[str]

    @property
    def run_dir(self) -> Path:
        return self.cwd / "runs" / "demo"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.cwd / 'mlflow' / 'mlflow.db'}"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo with no CONFIG, killed -9 once phase 0 picked its labels (after the search), then rerun."""
    cwd = tmp_path_factory.mktemp("cwd")
    killed = run_cli(cwd, "run", "--no-progress", *REDUCED_ARGS, env={"AUTOML_AL_TEST_CRASH_AT": "queried:0"})
    run_dir = cwd / "runs" / "demo"
    state = (run_dir / "pipeline.json").read_text() if (run_dir / "pipeline.json").exists() else ""
    mtime = (run_dir / "best.yaml").stat().st_mtime_ns if (run_dir / "best.yaml").exists() else -1
    resumed = run_cli(cwd, "run", "--no-progress", *REDUCED_ARGS)
    return DemoRun(cwd, killed, state, mtime, resumed)


def test_killed_after_the_search_the_rerun_finishes_without_searching_again(demo_run: DemoRun) -> None:
    import optuna

    assert demo_run.killed.returncode == -signal.SIGKILL, demo_run.killed.stderr[-3000:]
    assert '"search"' in demo_run.state_after_kill and '"active"' not in demo_run.state_after_kill
    assert demo_run.resumed.returncode == 0, demo_run.resumed.stderr[-3000:]
    # best.yaml is rewritten whenever the search runs: untouched means the search was skipped.
    assert (demo_run.run_dir / "best.yaml").stat().st_mtime_ns == demo_run.best_mtime_after_kill
    storage = f"sqlite:///{demo_run.run_dir / 'search' / 'optuna.db'}"
    study = optuna.load_study(study_name=EXPERIMENT, storage=storage)
    assert len(study.trials) == N_TRIALS


def test_run_writes_relative_to_the_cwd_and_prints_how_to_browse(demo_run: DemoRun) -> None:
    out = demo_run.resumed.stdout
    assert "running the built-in demo" in out
    assert (demo_run.cwd / "mlflow" / "mlflow.db").is_file()
    for produced in ("final/model.pt", "final/metrics.json", "report/report.html", "best.yaml", "config.yaml"):
        assert (demo_run.run_dir / produced).is_file(), produced
    command = re.search(r"to browse it: (mlflow ui --backend-store-uri (\S+) .*)", out)
    assert command is not None, out
    assert command.group(2) == demo_run.tracking_uri  # absolute: works from any folder
    assert f"registered:  models:/{EXPERIMENT}@champion" in out


def test_mlflow_holds_the_parent_run_trials_phases_and_the_champion(demo_run: DemoRun) -> None:
    import mlflow

    mlflow.set_tracking_uri(demo_run.tracking_uri)
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], output_format="list")
    by_id = {r.info.run_id: r for r in runs}

    def children(run_id: str) -> list:
        return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == run_id]

    parents = [r for r in runs if r.data.tags.get("stage") == "pipeline"]
    assert len(parents) == 1, "the rerun must log into the same parent run"
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["stages_done"] == "search,active,final"
    stages = {r.data.tags.get("stage"): r for r in children(parent.info.run_id)}
    assert set(stages) == {"search", "active", "final"}

    trials = children(stages["search"].info.run_id)
    assert sorted(int(t.data.tags["trial_number"]) for t in trials) == list(range(N_TRIALS))
    assert all("val_iou" in t.data.metrics for t in trials)

    phases = sorted(r.info.run_name for r in children(stages["active"].info.run_id))
    assert phases == [f"phase_{p:02d}" for p in range(1, PHASES + 1)]

    final = stages["final"]
    assert 0.0 <= final.data.metrics["test_iou"] <= 1.0
    version = mlflow.MlflowClient().get_model_version_by_alias(EXPERIMENT, "champion")
    assert by_id[version.run_id].info.run_id == final.info.run_id


def test_champion_uri_and_run_folder_load_the_same_weights(demo_run: DemoRun) -> None:
    import torch

    from automl_al.predict import load_predictor

    a = load_predictor(demo_run.run_dir)
    b = load_predictor(f"models:/{EXPERIMENT}@champion", tracking_uri=demo_run.tracking_uri)
    assert a.cfg.model == b.cfg.model and a.cfg.data.image_size == (32, 32)
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


def test_report_verb_rebuilds_every_section_from_the_run_folder(demo_run: DemoRun, tmp_path: Path) -> None:
    report = demo_run.run_dir / "report"
    for png in report.glob("*.png"):
        png.unlink()
    from automl_al.cli import main

    assert main(["report", str(demo_run.run_dir)]) == 0
    assert sorted(p.name for p in report.glob("*.png")) == [
        "class_metrics.png", "leaderboard.png", "learning_curve.png", "samples.png"
    ]
    page = (report / "report.html").read_text()
    for section in ("leaderboard-table", "phases-table", "test-metrics-table", "class-metrics-table",
                    "samples-plot", "learning-curve-plot"):
        assert f'id="{section}"' in page, section
    assert "left_ventricle" in page and "this stage did not run" not in page
    assert "<dd>search, active, final</dd>" in page  # stages in run order
    assert len(re.findall(r"<tr", page.split('id="leaderboard-table"')[1].split("</table>")[0])) == 1 + N_TRIALS
