"""The one base class of the errors a user can act on (Optuna's ``OptunaError`` pattern).

Every such error says which file, key or value is wrong and how to fix it, so the CLI prints it as
one line with exit code 2 instead of a traceback, whichever verb raised it. Each error also keeps
its builtin base (``ValueError``, ``RuntimeError``...), so callers may catch either.

Example:
    >>> from automl_al.config import ConfigError
    >>> issubclass(ConfigError, AutomlAlError) and issubclass(ConfigError, ValueError)
    True
"""

from __future__ import annotations


class AutomlAlError(Exception):
    """A failure of the user's input, choice or machine: config, data, model, weights, storage, state."""


__all__ = ["AutomlAlError"]
