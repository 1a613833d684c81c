"""What one search trial costs: training + per-epoch validation only, against what it cost before
2026-11-25, when ``train_supervised`` also evaluated the validation split again and the test split
after training although a trial reads neither.

Both variants run in one process, interleaved round by round, on the same data and config: slices
of the MSD hippocampus volumes in ``../shared/data`` (every slice, 64 px), a trial of the
``segmentation-cpu.yaml`` kind (depth-3 resnet18, fixed 20 batches per epoch, 2 epochs).

    .venv/bin/python benchmarks/trial_cost.py                 # Linknet, 200 volumes, 2 rounds
    .venv/bin/python benchmarks/trial_cost.py --arch FPN --batch-size 16

Last line: ``trial_seconds_ratio: X`` (a trial now / the same trial before).
Results: ``benchmarks/results/trial_cost.md``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import Interleaved, command_line, hippocampus_subset, set_threads, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="Linknet")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--volumes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)

    from automl_al.config import Config
    from automl_al.data import prepare_data
    from automl_al.training import evaluate
    from automl_al.training.supervised import train_supervised

    with tempfile.TemporaryDirectory(prefix="trial-cost-") as tmp:
        cfg = Config.model_validate({
            "run_dir": str(Path(tmp) / "run"),
            "data": {"source": "msd", "path": str(hippocampus_subset(args.volumes, Path(tmp) / "data")),
                     "classes": 3, "image_size": [64, 64], "augment": "none"},
            "model": {"arch": args.arch, "encoder": "resnet18", "encoder_depth": 3},
            "train": {"epochs": 2, "steps_per_epoch": 20, "batch_size": args.batch_size, "lr": 1e-3, "amp": False},
        })  # fmt: skip
        prepared = prepare_data(cfg, progress=False)
        sizes = {k: len(v) for k, v in prepared.splits.items()}
        kw = dict(task=cfg.task, classes=cfg.data.classes, batch_size=max(args.batch_size, 16))

        def now() -> int:
            train_supervised(cfg, prepared, progress=False, score_test=False)
            return 1

        def before() -> int:
            result = train_supervised(cfg, prepared, progress=False)  # fit + the test split
            evaluate(result.model, prepared.dataset(prepared.splits["val"]), **kw)  # the val split again
            return 1

        timing = Interleaved({"trial now": now, "trial before": before})
        timing.run(args.rounds, warmup=False)

    per_trial = {name: timing.seconds[name] / timing.items[name] for name in timing.variants}
    ratio = per_trial["trial now"] / per_trial["trial before"]
    lines = [
        f"{args.arch} + resnet18 (depth 3), batch {args.batch_size}, 2 epochs x 20 batches, 64 px; "
        f"{args.volumes} volumes: {sizes['pool']} training, {sizes['val']} validation, {sizes['test']} test slices; "
        f"{args.rounds} interleaved rounds, {args.threads} torch threads.",
        "",
        "| variant | seconds per trial (wall) |",
        "|---|---|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in per_trial.items()],
    ]
    last = f"trial_seconds_ratio: {ratio:.3f}"
    print("\n".join(lines))
    path = write_results("trial_cost", command_line(), lines, last)
    print(f"results: {path}")
    print(last)


if __name__ == "__main__":
    main()
