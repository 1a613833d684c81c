"""Label efficiency: the labeled share of the pool each acquisition needs to reach 98 % of the
full-data Dice, with the project's ``compare`` (:func:`automl_al.pipeline.compare.run_compare`).

Data: 2-D slices (those with foreground, or all with ``--all-slices``) of the first ``--volumes``
volumes of MSD Task04 hippocampus (``../shared/data/msd_hippocampus``, linked into a temporary MSD
folder: nothing is copied), resized to 32 x 32, 3 classes; volumes are split into test / val / pool by the project.
Model: Unet + resnet18 (encoder depth 3, random init), no augmentation, Adam 1e-3, batch 8.
Each arm x seed is a full active-learning run: ``--initial`` labeled slices, ``--query`` more per
phase, ``--phases`` phases, each model trained from scratch for ``--epochs`` epochs of
``--steps-per-epoch`` batches drawn with replacement (``train.steps_per_epoch``: 200 updates per
model by default, whatever its labeled count, so the phases differ in their data only; MC twin with
head dropout, T = 10, for the uncertainty arms). The full-data model (the whole pool, the same
updates) gives the ceiling; an arm's figure is the mean over seeds of the labeled fraction at which
test Dice first reaches 98 % of it, given only when every seed reached it within the budget (never
extrapolated, and never a mean of the lucky seeds alone).

Why fixed updates: with one pass over the data per epoch (``--steps-per-epoch 0``), a phase-1
model on 20 slices got 18 updates and the full-data model (283 slices) 216, so the early phases measured
under-training, not the choice of images, and every arm jumped at the same phase.

``--all-slices`` keeps the slices without foreground, as a user's pool would: the setting that
``fg_random`` exists for. Its results go to ``label_efficiency_all_slices.{md,png}``.
``--volumes N`` other than 16 adds ``_N_volumes`` to the results' names, and ``--seeds N`` other than
3 adds ``_N_seeds``. 48 volumes give a pool of 855 foreground slices, three times the default's, at
the same cost per run (every model gets the same updates): 3.1 to 3.6 min per arm and seed on 2026-12-03.

Arms: the four S1 heuristics top-K, ``power_mfe`` and ``power_mi`` (power sampling), ``mfe+kcenter``
and ``mi+kcenter`` (k-center batches, ``active.diversity``), ``random`` and ``fg_random``. Sized for
the 2-core machine (one torch thread per process: two threads beside other busy processes train 10x
slower here). The defaults (16 volumes -> about 280 pool slices, 390 with ``--all-slices``; 10 + 10
per phase, 12 phases -> up to 42 % or 31 % of the pool, 3 seeds) took, on 2026-12-03, 3.3 minutes
per arm and seed with foreground slices (two processes of 15 runs, 50 min each) and 5.3 to 6.9 with
every slice (three processes: 12, 12 and 6 runs in 64, 64 and 41 min). Every phase keeps its
checkpoints (3.6 MB each, unused encoder stages dropped at build): each set of 30 runs of 2026-12-03
left 2.3 GB.
``--run-dir`` keeps the runs and resumes there, so two processes with disjoint ``--arms`` can share
the cores (start the second once ``RUN_DIR/compare/full/metrics.json`` exists), and a last call
with every arm reads their runs and writes the report.

    .venv/bin/python benchmarks/label_efficiency.py [--run-dir DIR] [--seeds 3] [--arms mfe,fg_random] [--all-slices]

Last two lines: ``label_fraction_98_best: X`` (the best arm other than random and fg_random) and
``label_fraction_98_vs_random: Y`` (best / fg_random; goal <= 0.7).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, SHARED_DATA, command_line, hippocampus_subset, set_threads, write_results  # noqa: E402

from automl_al.config import Config  # noqa: E402
from automl_al.pipeline.compare import CompareResult, run_compare  # noqa: E402
from automl_al.tracking import NullTracker  # noqa: E402

DATA = SHARED_DATA / "msd_hippocampus"
ARMS = ("mfe", "mi", "std", "cfe", "power_mfe", "power_mi", "mfe+kcenter", "mi+kcenter", "random", "fg_random")
RANDOM_ARMS = ("random", "fg_random")  # every other arm ranks by uncertainty
BASELINE = "fg_random"
METRIC = "test_dice"
TARGET = 0.98
VOLUMES = 16  # the default pool: the first 16 volumes
SEEDS = 3  # the seed count


def config(args: argparse.Namespace, data: Path, run_dir: Path) -> Config:
    return Config.model_validate({
        "name": "label-efficiency",
        "task": "segmentation",
        "run_dir": str(run_dir),
        "seed": 0,
        "data": {"source": "msd", "path": str(data), "image_size": [32, 32], "classes": 3,
                 "keep_empty_slices": args.all_slices, "augment": "none", "test_fraction": 0.2, "val_fraction": 0.1},
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, "encoder_weights": None},
        "train": {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch or None, "batch_size": 8, "lr": 1e-3, "amp": False, "device": "cpu"},
        "tracking": {"enabled": False},
        "active": {"initial": args.initial, "query_size": args.query, "max_phases": args.phases,
                   "mc_samples": 10, "dropout": "head", "oracle": "simulated", "warm_start": args.warm_start},
    })


def fraction(result: CompareResult, arm: str) -> float | None:
    return result.fraction_to_reach(arm, TARGET)


def report(result: CompareResult, args: argparse.Namespace, minutes: float) -> tuple[list[str], list[str]]:
    """(markdown lines for the results file, the two last lines)."""
    lines = [f"| arm | labeled fraction to reach {TARGET:.0%} of full-data Dice (mean over seeds) | "
             f"final {METRIC} | area under the {METRIC} curve (mean, SD over seeds) |", "|---|---|---|---|"]
    summary = {row["acquisition"]: row for row in result.summary}
    for arm in result.runs:
        value = fraction(result, arm)
        reached = summary[arm][f"fraction_to_{round(TARGET * 100)}pct_seeds"]
        shown = "not reached by every seed" if value is None else f"{value:.3f}"
        row = summary[arm]  # the area as compare's summary.csv holds it
        area = "-" if f"area_{METRIC}" not in row else f"{row[f'area_{METRIC}']:.4f} ({row[f'area_{METRIC}_sd']:.4f})"
        lines.append(f"| {arm} | {shown} ({reached} seeds) | {float(row[f'final_{METRIC}']):.4f} | {area} |")
    fractions = {arm: fraction(result, arm) for arm in result.runs if arm not in RANDOM_ARMS}
    reached = {arm: value for arm, value in fractions.items() if value is not None}
    best_arm = min(reached, key=reached.get) if reached else None
    base = fraction(result, BASELINE) if BASELINE in result.runs else None
    best = "not reached" if best_arm is None else f"{reached[best_arm]:.3f}"
    ratio = "undefined" if best_arm is None or base is None else f"{reached[best_arm] / base:.3f}"
    epoch_note = "" if not args.steps_per_epoch else f" of {args.steps_per_epoch} batches"
    lines += [
        "",
        f"Full-data {METRIC} (model trained on the whole pool): {result.reference:.4f}; target "
        f"{TARGET:.0%} of it = {TARGET * result.reference:.4f}. Best arm other than random and fg_random: {best_arm or 'none reached it in every seed'}; "
        f"baseline: {BASELINE} ({'not reached' if base is None else f'{base:.3f}'}).",
        f"Area: the mean {METRIC} over phases 1-{result.area_phases} (trapezoids over the labeled fraction; "
        "`compare`'s summary), where the fraction hangs on the one phase that crosses the target.",
        f"Sizing: {args.volumes} hippocampus volumes ({'all' if args.all_slices else 'foreground'} slices, 32 x 32), initial {args.initial}, "
        f"query {args.query}, {args.phases} phases, {args.epochs} epochs per phase{epoch_note}, Unet + resnet18 depth 3, "
        f"batch 8, T = 10, {args.seeds} seeds, warm start {args.warm_start}; wall time {minutes:.1f} min "
        "(this invocation: runs it found done in --run-dir are read, not timed).",
        "",
        "Per phase (mean over seeds):",
        "",
    ]
    return lines, [f"label_fraction_98_best: {best}", f"label_fraction_98_vs_random: {ratio}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", type=Path, help="keep runs here and resume (default: a temporary folder)")
    parser.add_argument("--volumes", type=int, default=VOLUMES)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--query", type=int, default=10)
    parser.add_argument("--phases", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps-per-epoch", type=int, default=20,
                        help="an epoch = this many random batches (train.steps_per_epoch); 0 = one pass over the data")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--warm-start", action="store_true",
                        help="each phase continues from the previous phase's weights (active.warm_start)")
    parser.add_argument("--all-slices", action="store_true", help="keep slices without foreground in the pool")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (DATA / "dataset.json").is_file():
        raise SystemExit(f"{DATA} is missing: this benchmark needs the shared MSD hippocampus subset")
    set_threads(args.threads)
    # Another pool size or seed count writes its own files, so it never overwrites the default's.
    name = "label_efficiency" + ("_all_slices" if args.all_slices else "")
    name += "" if args.volumes == VOLUMES else f"_{args.volumes}_volumes"
    name += "" if args.seeds == SEEDS else f"_{args.seeds}_seeds"
    tmp = Path(tempfile.mkdtemp(prefix="label-efficiency-"))
    run_dir = args.run_dir or tmp / "run"
    start = time.perf_counter()
    try:
        cfg = config(args, hippocampus_subset(args.volumes, (args.run_dir or tmp) / "data"), run_dir)
        result = run_compare(cfg, args.arms.split(","), args.seeds, metric=METRIC, tracker=NullTracker(), progress=False)
        minutes = (time.perf_counter() - start) / 60
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / "compare" / "curves.png", RESULTS / f"{name}.png")
        lines, last = report(result, args, minutes)
        lines += (run_dir / "compare" / "phases.md").read_text().splitlines()
    finally:
        if args.run_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(lines))
    write_results(name, command_line(), [*lines, "", f"Plot: `benchmarks/results/{name}.png`.", last[0]], last[1])
    print("\n".join(last))


if __name__ == "__main__":
    main()
