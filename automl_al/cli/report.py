"""``automl-al report RUN_DIR``: rebuild the run's self-contained HTML report from its files."""

from __future__ import annotations

import argparse
from pathlib import Path

from automl_al.cli.base import Command, CommandError


class ReportCommand(Command):
    name = "report"
    help = "write RUN_DIR/report/report.html (leaderboard, learning curves, phases, samples, test metrics)"
    description = (
        "Build one self-contained HTML page (figures embedded, no external assets) from what a run "
        "left in its directory; `automl-al run` writes it at the end too. Works on unfinished runs."
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("run_dir", type=Path, help="the run directory (run_dir in the config)")

    def run(self, args: argparse.Namespace) -> int:
        from automl_al.report import build_report

        if not args.run_dir.is_dir():
            raise CommandError(f"{args.run_dir}: no such run directory (the config's run_dir)")
        page = build_report(args.run_dir)
        print(f"report: {page}")
        return 0
