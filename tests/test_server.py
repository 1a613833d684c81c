"""A small ``automl-al run`` against a real team set-up: an ``mlflow server`` (SQLite backend) for
tracking and a real PostgreSQL for the Optuna storage; runs are read back over MLflow's REST API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from run_helpers import EXPERIMENT, N_TRIALS, PHASES, REDUCED_ARGS, free_port, run_cli

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` (SQLite backend, proxied artifacts) on a free loopback port; yields its URL."""
    exe = Path(sys.executable).with_name("mlflow")
    if not exe.exists():
        pytest.skip("the mlflow CLI is not installed beside this Python")
    root = tmp_path / "mlflow-server"
    root.mkdir()
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(exe), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", str(root / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            return requests.get(f"{url}/health", timeout=2).ok
        except requests.ConnectionError:
            return False

    try:
        _wait_for(up, "mlflow server", timeout=90)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its worker: the group we started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _search_runs(url: str, experiment_id: str) -> list[dict]:
    runs: list[dict] = []
    token = None
    while True:
        body = {"experiment_ids": [experiment_id], "max_results": 500}
        if token:
            body["page_token"] = token
        reply = requests.post(f"{url}/api/2.0/mlflow/runs/search", json=body, timeout=30)
        reply.raise_for_status()
        data = reply.json()
        runs += data.get("runs", [])
        token = data.get("next_page_token")
        if not token:
            return runs


def _get(url: str, endpoint: str, **params: str) -> dict:
    reply = requests.get(f"{url}/api/2.0/mlflow/{endpoint}", params=params, timeout=30)
    reply.raise_for_status()
    return reply.json()


def test_run_with_two_workers_against_an_mlflow_server_and_postgres(postgres_url: str, mlflow_server: str, tmp_path: Path) -> None:
    import optuna

    done = run_cli(tmp_path, "run", "--no-progress", "--workers", "2", *REDUCED_ARGS,
                   "--set", f"search.storage={postgres_url}", env={"MLFLOW_TRACKING_URI": mlflow_server})
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"open {mlflow_server} in a browser" in done.stdout
    assert not (tmp_path / "mlflow").exists(), "with a server nothing is tracked locally"
    assert not (tmp_path / "runs" / "demo" / "search" / "optuna.db").exists()
    study = optuna.load_study(study_name=EXPERIMENT, storage=postgres_url)
    # A worker stops when judged + running trials fill the budget; one that had not yet started its
    # first trial when the other looked can still add one (Optuna has no reservation).
    assert N_TRIALS <= len(study.trials) <= N_TRIALS + 1
    assert sorted(t.number for t in study.trials) == list(range(len(study.trials)))  # shared, never duplicated
    logs = sorted(p.name for p in (tmp_path / "runs" / "demo" / "search").glob("worker-*.log"))
    assert logs == ["worker-0.log", "worker-1.log"]  # --workers 2 ran two search processes (that they
    # share trials, with trials slow enough to overlap: tests/search/test_search_postgres.py)

    experiment = _get(mlflow_server, "experiments/get-by-name", experiment_name=EXPERIMENT)["experiment"]
    runs = _search_runs(mlflow_server, experiment["experiment_id"])
    tags = {r["info"]["run_id"]: {t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs}
    names = {r["info"]["run_id"]: r["info"]["run_name"] for r in runs}
    parent = [i for i, t in tags.items() if t.get("stage") == "pipeline"]
    assert len(parent) == 1

    def children(run_id: str) -> dict[str, str]:
        return {i: names[i] for i, t in tags.items() if t.get("mlflow.parentRunId") == run_id}

    stage_of = {tags[i]["stage"]: i for i in children(parent[0])}
    assert set(stage_of) == {"search", "active", "final"}
    assert len(children(stage_of["search"])) == len(study.trials)  # a child run per trial
    assert sorted(children(stage_of["active"]).values()) == [f"phase_{p:02d}" for p in range(1, PHASES + 1)]
    final = next(r for r in runs if r["info"]["run_id"] == stage_of["final"])
    assert "test_iou" in {m["key"] for m in final["data"]["metrics"]}
    champion = _get(mlflow_server, "registered-models/alias", name=EXPERIMENT, alias="champion")["model_version"]
    assert champion["run_id"] == stage_of["final"]
    # Artifacts went through the server (proxied), not to a local path.
    listed = _get(mlflow_server, "artifacts/list", run_id=parent[0], path="report")
    assert "report/report.html" in {f["path"] for f in listed.get("files", [])}
