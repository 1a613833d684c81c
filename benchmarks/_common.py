"""Shared plumbing of the performance benchmarks: environment, threads, interleaved timing, results.

The machine is shared by several people running tests, so absolute speeds drift by 2x within
minutes. Every benchmark therefore measures its variants side by side in ONE run, interleaved
round by round (A B C, A B C, ...), and reports ratios; :class:`Interleaved` does that bookkeeping.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = ROOT.parent / "shared" / "data"
BAAL_DIR = ROOT / "benchmarks" / ".baal"  # baal lives here only; never a project dependency
# baal 2.1 imports structlog and torchmetrics at package import; installed without their own deps.
BAAL_PACKAGES = ("baal==2.1.0", "structlog>=22,<23", "torchmetrics>=1.7.3,<2", "lightning-utilities")
MACHINE = "2 CPU cores, no GPU (shared with other engineers' test runs)"


def hippocampus_subset(n_volumes: int, out: Path) -> Path:
    """An MSD folder at ``out`` of symlinks to the first ``n_volumes`` training volumes of the shared
    MSD Task04 hippocampus data (nothing is copied)."""
    import json

    data = SHARED_DATA / "msd_hippocampus"
    meta = json.loads((data / "dataset.json").read_text())
    if n_volumes > len(meta["training"]):
        raise SystemExit(f"{n_volumes} volumes asked for: {data} holds only {len(meta['training'])}")
    meta["training"] = meta["training"][:n_volumes]
    meta["numTraining"] = n_volumes
    for sub in ("imagesTr", "labelsTr"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for item in meta["training"]:
        for key in ("image", "label"):
            link = out / item[key]
            if not link.exists():
                link.symlink_to(data / item[key])
    (out / "dataset.json").write_text(json.dumps(meta, indent=2))
    return out


def set_threads(threads: int) -> None:
    """Pin torch's intra-op threads: a fixed count keeps the variants comparable on a busy machine."""
    import torch

    torch.set_num_threads(threads)


def import_baal() -> None:
    """Make ``import baal`` work from :data:`BAAL_DIR`, installing it there with pip on first use."""
    if not (BAAL_DIR / "baal").is_dir():
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(BAAL_DIR), *BAAL_PACKAGES]
        print("installing baal into", BAAL_DIR, flush=True)
        subprocess.run(cmd, check=True)
    if str(BAAL_DIR) not in sys.path:
        sys.path.append(str(BAAL_DIR))  # appended: the project's own torch/numpy always win


@dataclass
class Interleaved:
    """Seconds and items per variant, accumulated over rounds that run every variant once.

    Both clocks are kept: wall time (what a user waits) and this process's CPU time. With one torch
    thread and no worker processes all the work is in this process, so CPU time barely moves when
    other people's jobs take the cores, while wall time here swung 2x between rounds.
    """

    variants: dict[str, Callable[[], int]]  # name -> run once, return the number of items processed
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    def run(self, rounds: int, warmup: bool = True) -> None:
        if warmup:  # first calls pay for allocator growth and lazy init; not counted
            for fn in self.variants.values():
                fn()
        for r in range(rounds):
            for name, fn in self.variants.items():
                start, cpu_start = time.perf_counter(), time.process_time()
                n = fn()
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
                self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + cpu
                self.items[name] = self.items.get(name, 0) + n
                print(f"  round {r + 1}/{rounds} {name}: {n / elapsed:.2f} items/s wall, "
                      f"{n / cpu:.2f} items/CPU-s", flush=True)

    def rate(self, name: str) -> float:
        """Items per wall-clock second."""
        return self.items[name] / self.seconds[name]

    def cpu_rate(self, name: str) -> float:
        """Items per CPU second of this process."""
        return self.items[name] / self.cpu_seconds[name]

    def table(self, reference: str) -> list[str]:
        """Markdown rows: items/s on both clocks and the ratio to ``reference`` on both."""
        lines = [f"| variant | images/s (wall) | images/CPU-s | / {reference} (wall) | / {reference} (CPU) |",
                 "|---|---|---|---|---|"]
        for name in self.variants:
            lines.append(f"| {name} | {self.rate(name):.2f} | {self.cpu_rate(name):.2f} | "
                         f"{self.rate(name) / self.rate(reference):.3f} | "
                         f"{self.cpu_rate(name) / self.cpu_rate(reference):.3f} |")
        return lines


def write_results(script: str, command: str, lines: list[str], last_line: str) -> Path:
    """``benchmarks/results/<script>.md``: command, machine, date, the numbers, the last line printed."""
    import torch

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{script}.md"
    body = [
        f"# {script}",
        "",
        f"- command: `{command}`",
        f"- machine: {MACHINE}; torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), "
        f"Python {platform.python_version()}",
        f"- date: {datetime.datetime.now().isoformat(sep=' ', timespec='minutes')}",
        "",
        *lines,
        "",
        "Last line printed:",
        "",
        f"    {last_line}",
        "",
    ]
    path.write_text("\n".join(body))
    return path


def command_line() -> str:
    return " ".join([".venv/bin/python", *[a if i else f"benchmarks/{Path(a).name}" for i, a in enumerate(sys.argv)]])
