"""Two workers share one study on a real PostgreSQL server that the test starts on loopback
(the ``postgres_url`` fixture in tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

pytestmark = pytest.mark.postgres

WORKER = Path(__file__).with_name("search_worker.py")


def test_two_workers_share_one_study(postgres_url: str, tiny_space: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    run_dirs = [tmp_path / f"worker-{i}" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), postgres_url, "shared", str(d), str(tiny_space), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for d in run_dirs
    ]
    deadline = time.time() + 120
    while not all((d / "ready").exists() for d in run_dirs) and time.time() < deadline:
        time.sleep(0.05)
    go.touch()  # both workers now create the storage (fresh database) and the study together
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs

    study = optuna.load_study(study_name="shared", storage=postgres_url)
    trials = study.get_trials()
    by_psycopg2 = optuna.load_study(study_name="shared", storage=postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    assert [t.number for t in by_psycopg2.get_trials()] == [t.number for t in trials]  # either driver reads it
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) and sorted(numbers) == list(range(len(numbers)))
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert 8 <= len(complete) <= 9  # the total target; at most one overshoot per extra worker
    workers = {t.user_attrs["worker"] for t in complete}
    assert len(workers) == 2, "both workers ran trials of the shared study"
    assert all((d / "best.yaml").is_file() for d in run_dirs)
