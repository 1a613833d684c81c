"""One search worker for the multi-process tests: ``python search_worker.py URL STUDY RUN_DIR SPACE GO``.

Waits until the file GO exists (so that all workers first touch the storage together), then runs
``run_search`` with the known-curve trainer, slowed so that the workers' trials overlap.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from search_helpers import CurveTrainer  # noqa: E402

from automl_al.config import Config  # noqa: E402
from automl_al.search import run_search  # noqa: E402


class SlowCurveTrainer(CurveTrainer):
    def __call__(self, cfg, on_epoch, monitor):
        def slow(epoch, metrics):
            time.sleep(0.2)
            on_epoch(epoch, metrics)

        return super().__call__(cfg, slow, monitor)


def main(url: str, study: str, run_dir: str, space: str, go: str) -> None:
    cfg = Config.model_validate(
        {
            "name": "worker",
            "run_dir": run_dir,
            "tracking": {"enabled": False},
            "search": {"space": space, "n_trials": 8, "epochs": 2, "sampler": "random", "pruner": "none"},
        }
    )
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    (Path(run_dir) / "ready").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    run_search(cfg, storage=url, study_name=study, trainer=SlowCurveTrainer(), progress=False)


if __name__ == "__main__":
    main(*sys.argv[1:6])
