"""Shared by the end-to-end tests (run, server, predict, final model): the reduced demo, a CLI
runner and a tiny class-folder dataset."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

EXPERIMENT = "automl-al-demo"  # the demo's name: its MLflow experiment and registered model
N_TRIALS, PHASES = 2, 2
# The built-in demo at CI size: 30 images of 32 px, 2 one-epoch trials, 2 phases of 4 queries.
REDUCED = [
    "data.demo.n_patients=10", "data.demo.slices_per_patient=3", "data.demo.size=32", "data.image_size=[32,32]",
    f"search.n_trials={N_TRIALS}", "search.epochs=1", "train.epochs=1", "active.initial=4",
    "active.query_size=4", f"active.max_phases={PHASES}", "active.mc_samples=2", "train.device=cpu",
]
REDUCED_ARGS = [a for item in REDUCED for a in ("--set", item)]
_MAIN = "import sys; from automl_al.cli import main; sys.exit(main(sys.argv[1:]))"


def run_cli(cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``automl-al ARGS`` in ``cwd`` with ``env`` added; one torch thread (the test machine is shared)."""
    full = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "AUTOML_AL_TEST_CRASH_AT")}
    full.update({"OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-c", _MAIN, *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def class_folder(root: Path) -> Path:
    """Two visually distinct classes (bright disc / dark background), 10 PNGs each, 32 px."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32]
    disc = (yy - 16) ** 2 + (xx - 16) ** 2 < 64
    for label in ("disc", "empty"):
        (root / label).mkdir(parents=True)
        for i in range(10):
            image = rng.integers(0, 60, (32, 32))
            if label == "disc":
                image[disc] += 180
            Image.fromarray(image.astype(np.uint8)).save(root / label / f"p{i:02d}_{label}.png")
    return root
