"""``automl-al search CONFIG``: an Optuna study over ``search.space``; the same command resumes it.

Several workers share one study through PostgreSQL, each running
``automl-al search CONFIG --storage postgresql://user@host/db --study NAME``.
"""

from __future__ import annotations

import argparse

from automl_al.cli.base import Command, add_config_arguments, config_from_args


class SearchCommand(Command):
    name = "search"
    help = "search encoder x decoder x hyper-parameters; writes <run_dir>/best.yaml"
    description = (
        "Run (or resume) an Optuna study over the search space of the config (search.space). "
        "search.n_trials is the study's total target: running the command again tops it up. "
        "The best trial's full config goes to <run_dir>/best.yaml (`automl-al train` accepts it)."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_config_arguments(parser)
        parser.add_argument(
            "--storage",
            default=None,
            help="Optuna storage URL (default: search.storage, else sqlite in <run_dir>/search/optuna.db); "
            "use postgresql://... for several workers",
        )
        parser.add_argument("--study", default=None, help="study name (default: search.study, else the config's name)")
        parser.add_argument("--no-progress", action="store_true", help="no per-trial lines or progress bars")

    def run(self, args: argparse.Namespace) -> int:
        import optuna

        from automl_al.search import run_search
        from automl_al.tracking import make_tracker

        cfg = config_from_args(args)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # our per-trial line replaces Optuna's
        result = run_search(
            cfg, tracker=make_tracker(cfg), storage=args.storage, study_name=args.study, progress=not args.no_progress
        )
        if args.no_progress:
            print(f"best: trial {result.best_trial}, value {result.best_value:.4f} -> {result.best_config_path}")
        return 0
