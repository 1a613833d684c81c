"""Storage: URLs, masked passwords, the one-worker lock of SQLite, and a race-free first use."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from automl_al.search.storage import (
    StorageError,
    creation_lock,
    default_storage_url,
    display_url,
    open_storage,
    sqlite_path,
    worker_lock,
)

# Each process imports, says it is ready, waits for "go", then opens the storage and the study: the
# moment two processes first use a fresh database together, the case that crashes plain Optuna.
OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from automl_al.search.storage import creation_lock, open_storage, open_study
url, flag, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
(flag.parent / f"ready-{me}").touch()
while not flag.exists():
    time.sleep(0.01)
with creation_lock(url):
    study = open_study(open_storage(url, single_worker=True), "shared")
study.enqueue_trial({}, user_attrs={"by": me})
print("ok")
"""


def run_at_once(url: str, tmp_path: Path, n: int) -> list[subprocess.CompletedProcess]:
    """Start ``n`` processes that first use ``url`` at the same instant."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, url, str(go), str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(n)
    ]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("ready-*"))) < n and time.time() < deadline:
        time.sleep(0.05)
    go.touch()
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_default_storage_is_a_sqlite_file_in_the_run_dir(tmp_path: Path) -> None:
    url = default_storage_url(tmp_path / "run")
    assert url == f"sqlite:///{tmp_path / 'run' / 'search' / 'optuna.db'}"
    assert sqlite_path(url) == tmp_path / "run" / "search" / "optuna.db"
    assert sqlite_path("postgresql://u:p@db:5432/optuna") is None


def test_passwords_never_reach_logs_or_tags() -> None:
    assert display_url("postgresql+psycopg2://alice:s3cret@db.example:5432/optuna") == (
        "postgresql+psycopg2://alice:***@db.example:5432/optuna"
    )


@pytest.mark.parametrize("url", ["postgresql+pg8000://u:secret@127.0.0.1:1/optuna", "mysql://u:secret@127.0.0.1:1/optuna"])
def test_a_missing_database_driver_is_named_not_a_traceback(url: str) -> None:
    expected = r"database driver missing \(.*\); install it, .*psycopg2 that automl-al installs"
    with pytest.raises(StorageError, match=expected) as info:
        with creation_lock(url):
            open_storage(url, single_worker=False)
    assert "secret" not in str(info.value)


def test_a_string_that_is_no_url_is_named() -> None:
    with pytest.raises(StorageError, match="storage 'optuna.db' is not a database URL; give sqlite:///"):
        sqlite_path("optuna.db")


def test_sqlite_allows_one_worker_at_a_time(tmp_path: Path) -> None:
    url = default_storage_url(tmp_path)
    with worker_lock(url) as single:
        assert single is True
        with pytest.raises(StorageError, match="another automl-al search is using .*optuna.db"):
            with worker_lock(url):
                pass
    with worker_lock(url):  # released: the next worker may go
        pass


def test_concurrent_first_use_of_a_new_sqlite_storage(tmp_path: Path) -> None:
    url = default_storage_url(tmp_path)
    results = run_at_once(url, tmp_path, 4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-2000:] for r in results if r.returncode]
    study = optuna.load_study(study_name="shared", storage=url)
    assert sorted(t.user_attrs["by"] for t in study.trials) == ["0", "1", "2", "3"]
    assert len(optuna.get_all_study_names(url)) == 1
