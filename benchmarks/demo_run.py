"""The built-in demo end to end: ``automl-al run`` with no CONFIG in a fresh temporary folder, as a
user runs it first (search -> active learning -> final model -> report, tracked in a local MLflow).

Measures the wall time the user waits, the CPU time the run used (user + system, all its processes),
the peak resident memory (``getrusage(RUSAGE_CHILDREN).ru_maxrss``) and the machine's load average
before and after (the machine is shared: a wall time far above CPU time / cores means others' jobs
held the cores), and the disk the run left (its run folder and MLflow store). Also reads what the run produced: the final test IoU must be clearly above 0.5.

    .venv/bin/python benchmarks/demo_run.py                       # the demo as shipped
    .venv/bin/python benchmarks/demo_run.py --set search.n_trials=2   # any override, as on the CLI

Last line: ``demo_run_seconds: X`` (goal: < 300 on 2 CPU cores).
Results: ``benchmarks/results/demo_run.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import command_line, write_results

GOAL_SECONDS = 300.0
_MAIN = "import sys; from automl_al.cli import main; sys.exit(main(sys.argv[1:]))"


def run_demo(cwd: Path, overrides: list[str]) -> tuple[float, float, float, str]:
    """Run the demo in ``cwd``; returns (wall s, CPU s, peak RSS MiB, stdout). Raises on failure."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "AUTOML_AL_TEST_CRASH_AT")}
    cmd = [sys.executable, "-c", _MAIN, "run", "--no-progress", *[a for o in overrides for a in ("--set", o)]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"the demo failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024, done.stdout


def disk_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def summary_rows(run_dir: Path) -> list[tuple[str, str]]:
    """What the run produced: search best, phases, final test metrics."""
    pipeline = json.loads((run_dir / "pipeline.json").read_text())
    final = json.loads((run_dir / "final" / "metrics.json").read_text())
    search, active = pipeline["stages"]["search"], pipeline["stages"]["active"]
    arch = final["architecture"]
    return [
        ("search best (val IoU)", f"{search['best_value']:.3f} (trial {search['best_trial']})"),
        ("architecture", f"{arch['arch']} + {arch['encoder']}, lr {arch['lr']:g}"),
        ("active-learning phases", f"{active['phases']} ({active['labeled']} images labeled)"),
        ("final test IoU", f"{final['test']['iou']:.3f}"),
        ("final test Dice", f"{final['test']['dice']:.3f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="automl-al-demo-") as tmp:
        wall, cpu, rss, stdout = run_demo(Path(tmp), args.overrides)
        produced = summary_rows(Path(tmp) / "runs" / "demo")
        disk = {name: disk_mib(Path(tmp) / name) for name in ("runs", "mlflow")}
    load_after = os.getloadavg()[0]
    rows = [
        ("wall time (s)", f"{wall:.1f}"),
        ("CPU time, user + system (s)", f"{cpu:.1f}"),
        ("peak memory, max RSS (MiB)", f"{rss:.0f}"),
        ("load average (1 min) before / after", f"{load_before:.1f} / {load_after:.1f} on {os.cpu_count()} cores"),
        ("disk left: runs/ + mlflow/ (MiB)", f"{disk['runs']:.1f} + {disk['mlflow']:.1f}"),
        *produced,
    ]
    lines = ["| quantity | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows]]
    verdict = "within" if wall < GOAL_SECONDS else "OVER"
    lines += ["", f"Goal: under {GOAL_SECONDS:.0f} s wall on 2 CPU cores: {verdict} the goal in this run."]
    last = f"demo_run_seconds: {wall:.1f}"
    print("\n".join(lines))
    print(stdout.strip().splitlines()[-1])
    path = write_results("demo_run", command_line(), lines, last)
    print(f"results: {path}")
    print(last)


if __name__ == "__main__":
    main()
