"""``automl-al train CONFIG``: one supervised model on the labeled data."""

from __future__ import annotations

import argparse

from automl_al.cli.base import Command, add_config_arguments, config_from_args


class TrainCommand(Command):
    name = "train"
    help = "train one model on the labeled data (e.g. the best.yaml a search wrote)"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_config_arguments(parser)
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.tracking import make_tracker
        from automl_al.training.supervised import train_from_config

        cfg = config_from_args(args)
        result = train_from_config(cfg, make_tracker(cfg), progress=not args.no_progress)
        metrics = result.test_metrics or result.val_metrics
        print("test metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
        print(f"checkpoint: {cfg.run_dir / 'train' / 'model.pt'}")
        if result.model_uri:
            print(f"MLflow model: {result.model_uri}")
        return 0
