"""``automl-al learn CONFIG``: active learning, phase by phase; run it again to resume.

Exit codes: 0 finished (the stop reason is printed), 3 waiting for a human to label the queried
images (``active.oracle: folder``), 2 a user error.
"""

from __future__ import annotations

import argparse

from automl_al.cli.base import Command, add_config_arguments, config_from_args

EXIT_WAITING = 3


class LearnCommand(Command):
    name = "learn"
    help = "grow the labeled set by active learning (resumes where it stopped)"
    description = (
        "Each phase trains a deterministic model and an MC-dropout twin on the labeled images, scores "
        "the unlabeled pool, and asks the oracle to label the top K. Stops at active.iou_threshold, "
        "active.budget, an empty pool or active.max_phases. With active.oracle=folder it exits with "
        f"code {EXIT_WAITING} after writing the images to label; run the same command again once the "
        "masks are in <run_dir>/labels/. The architecture comes from <run_dir>/best.yaml when a search "
        "wrote one, else from the config."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_config_arguments(parser)
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.active.curves import table_markdown
        from automl_al.active.run import run_active
        from automl_al.tracking import make_tracker

        cfg = config_from_args(args)
        result = run_active(cfg, tracker=make_tracker(cfg), progress=not args.no_progress)
        if result.rows:
            print(table_markdown(result.rows), end="")
        if result.status == "waiting":
            print(result.waiting)
            return EXIT_WAITING
        print(f"stopped: {result.stop_reason} after {len(result.rows)} phase(s), {len(result.state.labeled)} labeled")
        print(f"final model: {cfg.run_dir / 'active' / 'model.pt'}")
        return 0
