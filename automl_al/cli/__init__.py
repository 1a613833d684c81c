"""``automl-al`` command line: thin verbs over the Python API (Optuna's cli.py style).

Each verb lives in its own module as a :class:`~automl_al.cli.base.Command`; the registry below lists
them explicitly (no filesystem scanning), so ``automl-al --help`` shows every verb.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from automl_al.cli.base import Command
from automl_al.cli.compare import CompareCommand
from automl_al.cli.data import DataCommand
from automl_al.cli.init import InitCommand
from automl_al.cli.learn import LearnCommand
from automl_al.cli.predict import PredictCommand
from automl_al.cli.report import ReportCommand
from automl_al.cli.run import RunCommand
from automl_al.cli.search import SearchCommand
from automl_al.cli.train import TrainCommand
from automl_al.errors import AutomlAlError
from automl_al.utils import library_versions

COMMANDS: dict[str, type[Command]] = {c.name: c for c in (DataCommand, TrainCommand, InitCommand, RunCommand, ReportCommand, SearchCommand, LearnCommand, CompareCommand, PredictCommand)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="automl-al",
        description="Find the right model for your medical images and grow the labeled set by active learning.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, and the traceback of an error")
    versions = library_versions()
    parser.add_argument(
        "--version",
        action="version",
        version=f"automl-al {versions.pop('automl-al')} (" + ", ".join(f"{k} {v}" for k, v in versions.items()) + ")",
        help="the versions of automl-al and of the libraries behind its numbers",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cls in COMMANDS.items():
        p = sub.add_parser(name, help=cls.help, description=cls.description or cls.help)
        cls.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command]().run(args) or 0
    except AutomlAlError as e:  # the user's config, data, model, weights, storage or state: one line
        logging.getLogger("automl_al.cli").debug("where the error was raised", exc_info=True)
        print(f"automl-al {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nautoml-al {args.command}: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
