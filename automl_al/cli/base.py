"""The shape every CLI verb takes."""

from __future__ import annotations

import argparse
from typing import ClassVar

from automl_al.config import Config, ConfigError, load_config


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2, no traceback."""


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
    try:
        return load_config(args.config, args.overrides)
    except ConfigError as e:
        raise CommandError(str(e)) from None
