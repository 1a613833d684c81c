"""``automl-al data CONFIG|FOLDER``: discover, validate and summarise a dataset before any training."""

from __future__ import annotations

import argparse
from pathlib import Path

from automl_al.cli.base import Command, CommandError, config_from_args


class DataCommand(Command):
    name = "data"
    help = "check a dataset: counts, image sizes, class balance, problems found"
    description = (
        "Given a config, prepare its data; given a folder, detect the layout (MSD / nnU-Net, "
        "images + masks, class folders, a DICOM tree) and summarise it."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("target", help="a YAML config or a data folder")
        parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--run-dir", type=Path, default=None, help="where the decoded cache goes")
        parser.add_argument("--skip-bad", action="store_true", help="skip bad files and list them (on_bad_file: skip)")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.data import detect_layout, format_summary, prepare_data, summarize

        target = Path(args.target)
        overrides = list(args.overrides)
        if not target.exists():
            raise CommandError(f"{target}: no such data folder or config file")
        if target.is_dir():
            layout = detect_layout(target)
            print(f"{target}: detected layout '{layout}'")
            overrides = [f"data.source={layout}", f"data.path={target.resolve()}", *overrides]
            args.config = None
        else:
            args.config = target
        if args.run_dir is not None:
            overrides.append(f"run_dir={args.run_dir}")
        if args.skip_bad:
            overrides.append("data.on_bad_file=skip")
        args.overrides = overrides
        cfg = config_from_args(args)
        prepared = prepare_data(cfg)
        summary = summarize(prepared)
        print(format_summary(summary))
        return 1 if prepared.problems else 0
