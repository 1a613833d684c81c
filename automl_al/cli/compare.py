"""``automl-al compare CONFIG --acquisition mfe,mi,random --seeds 3``: S1's study in one command."""

from __future__ import annotations

import argparse

from automl_al.cli.base import Command, add_config_arguments, config_from_args

DEFAULT_ARMS = "mfe,mi,std,cfe,random,fg_random"


class CompareCommand(Command):
    name = "compare"
    help = "compare acquisition functions over several seeds against the full-data model"
    description = (
        "Runs active learning once per acquisition function and seed (each in <run_dir>/compare/<arm>/"
        "seed_<i>, resumable), all from the same initial labeled set per seed and on the same test set, "
        "plus one model trained on the whole pool. Writes curves.png, phases.csv/.md and summary.csv/.md "
        "(labeled fraction needed to reach 98 %% and 100 %% of the full-data score) to <run_dir>/compare/."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_config_arguments(parser)
        parser.add_argument("--acquisition", default=DEFAULT_ARMS, help=f"comma-separated arms: acquisition names, each optionally +kcenter for k-center batches (default: {DEFAULT_ARMS})")
        parser.add_argument("--seeds", type=int, default=3, help="seeds per arm (default: 3)")
        parser.add_argument("--metric", help="metric compared: test_iou (default), test_dice, val_*; "
                            "classification: test_balanced_accuracy (default), test_accuracy, test_auroc")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.active.curves import table_markdown
        from automl_al.pipeline.compare import check_compare_args, run_compare
        from automl_al.tracking import make_tracker

        cfg = config_from_args(args)
        arms = [a.strip() for a in args.acquisition.split(",") if a.strip()]
        metric = check_compare_args(cfg, arms, args.seeds, args.metric)  # before the tracker opens its store
        result = run_compare(
            cfg, arms, args.seeds, metric=metric, tracker=make_tracker(cfg), progress=not args.no_progress
        )
        print(f"full-data {result.metric}: {result.reference:.4f}")
        print(table_markdown(result.phases), end="")
        print(table_markdown(result.summary), end="")
        print(f"written: {', '.join(str(p) for p in result.files)}")
        return 0
