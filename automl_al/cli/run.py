"""``automl-al run [CONFIG]``: search, active learning and the final model in one command; without
CONFIG, the built-in demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from automl_al.cli.base import Command, add_config_arguments


def mlflow_ui_command(uri: str) -> str:
    """What to type (or open) to see the runs: ``mlflow ui`` on a local store, the URL of a server."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"  # works from any folder
    return f"mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000"


class RunCommand(Command):
    name = "run"
    help = "search -> active learning -> final model -> report, in one command (no CONFIG: the demo)"
    description = (
        "Run every stage of a config under one MLflow parent run: the architecture search, active "
        "learning with the best architecture, then the final model trained on every label, and the "
        "HTML report. Running the same command again resumes after an interruption. Without CONFIG "
        "it runs the built-in synthetic demo (a few minutes on a laptop CPU)."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_config_arguments(parser, optional=True)
        parser.add_argument(
            "--workers", type=int, default=1, metavar="N",
            help="N search workers on one shared storage, one GPU each (needs search.storage: postgresql://...)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no per-trial lines or progress bars")

    def run(self, args: argparse.Namespace) -> int:
        import optuna

        from automl_al.pipeline import load_run_config, run_pipeline
        from automl_al.tracking import make_tracker

        cfg = load_run_config(args.config, args.overrides)
        if args.config is None:
            print(f"automl-al run: no CONFIG given, running the built-in demo (results in {cfg.run_dir})")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        tracker = make_tracker(cfg)
        result = run_pipeline(cfg, tracker=tracker, workers=args.workers, progress=not args.no_progress)
        if result.status == "waiting":
            print(result.message)
            print("label those images, then run the same command again to continue")
            return 0
        final = result.stages.get("final", {})
        print(f"\nresults: {result.run_dir.resolve()}")
        print(f"  report:      {result.report}")
        print(f"  best config: {result.stages.get('search', {}).get('best_config')}")
        print(f"  final model: {result.run_dir / 'final' / 'model.pt'}  (automl-al predict {result.run_dir} INPUTS OUT)")
        if final.get("registered_model"):
            print(f"  registered:  {final['registered_model']}")
        test = final.get("test", {})
        if test:
            shown = {k: v for k, v in test.items() if "_" not in k} or test
            print("  test:        " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(shown.items())))
        uri = getattr(tracker, "uri", None)
        if uri:
            print(f"MLflow parent run {result.parent_run_id}; to browse it: {mlflow_ui_command(uri)}")
        return 0
