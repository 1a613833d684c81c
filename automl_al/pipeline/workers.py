"""``automl-al run --workers N``: N search workers on one shared Optuna storage, one GPU each.

The storage, the study and the study's tracking run are created once, here, before any worker
starts (two processes creating a new storage at once crash one of them). Each worker is a plain
``automl-al search`` process with ``CUDA_VISIBLE_DEVICES`` set to its GPU; on a machine without
GPUs the workers share the CPU cores evenly.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from automl_al.pipeline.state import PipelineError
from automl_al.tracking import Tracker

log = logging.getLogger(__name__)

_WORKER_MAIN = "import sys; from automl_al.cli import main; sys.exit(main(sys.argv[1:]))"


def visible_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """GPU ids a worker may be given: the ones already in CUDA_VISIBLE_DEVICES, else every device."""
    environ = os.environ if environ is None else environ
    if environ.get("CUDA_VISIBLE_DEVICES", "").strip():
        return [d.strip() for d in environ["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def worker_env(index: int, n_workers: int, gpus: list[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of worker ``index``: its own GPU, or its share of the CPU cores."""
    env = dict(os.environ if environ is None else environ)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n_workers))
    return env


def prepare_shared_study(url: str, study_name: str, tracker: Tracker, tags: Mapping[str, str]) -> str | None:
    """Create the storage, the study and its tracking run once; returns that run's id."""
    from automl_al.search.runs import ensure_parent_run
    from automl_al.search.storage import creation_lock, open_storage, open_study, sqlite_path

    if sqlite_path(url) is not None:
        raise PipelineError(
            f"--workers needs a storage that several processes can share, but the study's is SQLite "
            f"({url}; the default when search.storage is unset); set search.storage to postgresql://user:password@host:5432/db (see mlflow/README.md)"
        )
    with creation_lock(url):
        study = open_study(open_storage(url, single_worker=False), study_name)
        return ensure_parent_run(tracker, study, tags)


def run_workers(config_path: Path, n_workers: int, *, url: str, study_name: str, log_dir: Path) -> None:
    """Start ``n_workers`` ``automl-al search`` processes and wait for all; any failure is an error
    naming its log file."""
    gpus = visible_gpus()
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for i in range(n_workers):
        log_path = log_dir / f"worker-{i}.log"
        cmd = [
            sys.executable, "-c", _WORKER_MAIN, "search", str(config_path),
            "--storage", url, "--study", study_name, "--no-progress",
        ]
        env = worker_env(i, n_workers, gpus)
        where = f"GPU {env['CUDA_VISIBLE_DEVICES']}" if gpus else f"CPU ({env['OMP_NUM_THREADS']} threads)"
        log.info("search worker %d on %s, log %s", i, where, log_path)
        with log_path.open("wb") as out:
            procs.append((subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT), log_path))
    try:
        codes = [(p.wait(), path) for p, path in procs]
    except BaseException:
        for p, _ in procs:  # interrupted: stop our own workers; a later run resumes the study
            p.terminate()
        for p, _ in procs:
            p.wait()
        raise
    failed = [f"{path} (exit {code})" for code, path in codes if code != 0]
    if failed:
        raise PipelineError(f"{len(failed)} of {n_workers} search workers failed; see {', '.join(failed)}")
