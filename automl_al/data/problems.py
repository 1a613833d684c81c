"""Bad files found while discovering a dataset: raise at once, or skip and list them.

Sources call :meth:`Problems.report` for every unusable file; with ``on_bad_file: error`` that raises
a :class:`BadFileError` naming the file, with ``skip`` the file is left out and listed in
``PreparedData.problems`` (and the cache's ``problems.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from automl_al.data.records import BadFileError


class Problems:
    """Collects ``(path, problem)`` pairs according to the ``on_bad_file`` policy."""

    def __init__(self, policy: Literal["error", "skip"] = "error") -> None:
        self.policy = policy
        self.items: list[tuple[str, str]] = []

    def report(self, path: str | Path, problem: str) -> None:
        """Raise for ``error``; remember the file for ``skip``. Callers skip the file after this."""
        if self.policy == "error":
            raise BadFileError(path, problem, hint="data.on_bad_file: skip leaves such files out and lists them")
        self.items.append((str(path), problem))

    def __len__(self) -> int:
        return len(self.items)
