"""``automl-al run --workers N``: one GPU per search worker, or a fair share of the CPU cores, and a
storage several processes can share."""

from __future__ import annotations

import pytest

from automl_al.pipeline.state import PipelineError
from automl_al.pipeline.workers import prepare_shared_study, visible_gpus, worker_env
from automl_al.tracking import NullTracker


def test_visible_gpus_come_from_cuda_visible_devices_first() -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 3"}) == ["2", "3"]


def test_each_worker_gets_its_own_gpu_round_robin() -> None:
    envs = [worker_env(i, 3, ["4", "7"], environ={"PATH": "/bin"}) for i in range(3)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["4", "7", "4"]
    assert all(e["PATH"] == "/bin" and "OMP_NUM_THREADS" not in e for e in envs)


def test_without_gpus_workers_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    env = worker_env(1, 4, [], environ={})
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["OMP_NUM_THREADS"] == "2"
    assert worker_env(0, 16, [], environ={})["OMP_NUM_THREADS"] == "1"  # never zero threads


def test_sqlite_storage_is_refused_for_several_workers(tmp_path) -> None:
    with pytest.raises(PipelineError, match="postgresql://"):
        prepare_shared_study(f"sqlite:///{tmp_path / 'optuna.db'}", "study", NullTracker(), {})
    assert not (tmp_path / "optuna.db").exists()  # refused before anything was created


def test_several_workers_without_a_storage_are_one_line_naming_search_storage(tmp_path, capsys) -> None:
    """The default storage is SQLite in the run dir: --workers needs search.storage set."""
    from automl_al.cli import main

    code = main(["run", "--workers", "2", "--no-progress", "--set", f"run_dir={tmp_path / 'run'}",
                 "--set", "tracking.enabled=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert "the default when search.storage is unset); set search.storage to postgresql://" in err
    assert "Traceback" not in err
