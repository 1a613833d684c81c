"""Two workers share one study on a real PostgreSQL server that the test starts on loopback."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

pytestmark = pytest.mark.postgres

WORKER = Path(__file__).with_name("search_worker.py")


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries are absent (apt-get install postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """initdb + pg_ctl in a fresh directory (as user postgres when we are root: initdb refuses root)."""
    bin_dir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="automl-al-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "server.log"), "-w", "start")
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "optuna")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/optuna"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


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
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) and sorted(numbers) == list(range(len(numbers)))
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert 8 <= len(complete) <= 9  # the total target; at most one overshoot per extra worker
    workers = {t.user_attrs["worker"] for t in complete}
    assert len(workers) == 2, "both workers ran trials of the shared study"
    assert all((d / "best.yaml").is_file() for d in run_dirs)
