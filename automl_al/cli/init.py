"""``automl-al init [--layout L] [PATH]``: write a commented example config for the user's data."""

from __future__ import annotations

import argparse
from pathlib import Path

from automl_al.cli.base import Command, CommandError


class InitCommand(Command):
    name = "init"
    help = "write a commented example config (every key explained) for your data"
    description = (
        "Write a YAML config to start from. Given PATH (your data folder) the layout is detected and "
        "data.path filled in; --layout picks it by hand: folder (images/ + masks/), msd (Decathlon / "
        "nnU-Net NIfTI), dicom (DICOM tree + PNG masks), classes (one folder per class), demo."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        from automl_al.templates import LAYOUTS

        parser.add_argument("path", nargs="?", type=Path, help="your data folder (optional)")
        parser.add_argument("--layout", choices=LAYOUTS, help="data layout (default: detected from PATH, else folder)")
        parser.add_argument("-o", "--output", type=Path, default=Path("automl-al.yaml"), help="config file to write")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.templates import write_template

        if args.path is not None and not args.path.is_dir():
            raise CommandError(f"{args.path}: not a folder; give the folder that holds your images")
        layout = args.layout or (self._detect(args.path) if args.path is not None else "folder")
        try:
            written = write_template(layout, args.output, data_path=args.path, force=args.force)
        except (FileExistsError, ValueError) as e:
            raise CommandError(str(e)) from None
        for path in written:
            print(f"wrote {path}")
        print(f"next: edit {args.output}, check the data with `automl-al data {args.output}`, "
              f"then `automl-al run {args.output}`")
        return 0

    @staticmethod
    def _detect(path: Path) -> str:
        from automl_al.data import DataError, detect_layout

        try:
            layout = detect_layout(path)
        except DataError as e:
            raise CommandError(f"{e}; pass --layout to choose one") from None
        print(f"{path}: detected layout '{layout}'")
        return layout
