"""The shape every CLI verb takes."""

from __future__ import annotations

import argparse
from typing import ClassVar

from automl_al.config import Config, load_config
from automl_al.errors import AutomlAlError


class CommandError(AutomlAlError):
    """A bad command-line argument; like every :class:`AutomlAlError`, printed as one line, exit code 2."""


class Command:
    name: ClassVar[str]
    help: ClassVar[str]
    description: ClassVar[str | None] = None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        pass

    def run(self, args: argparse.Namespace) -> int | None:
        raise NotImplementedError


def add_config_arguments(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """CONFIG positional plus ``--set key.sub=value`` overrides (defaults < YAML < CLI)."""
    parser.add_argument(
        "config",
        nargs="?" if optional else None,
        help="YAML config file" + (" (default: the built-in demo)" if optional else ""),
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.epochs=3 (repeatable)",
    )


def config_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, args.overrides)
