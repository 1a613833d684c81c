"""What an oracle is: it answers label requests for sample ids, now or later."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np


class WaitingForLabels(Exception):
    """The oracle cannot answer yet (a human has to label); the run stops and resumes later.

    ``problems`` maps a sample id (or a stray file name) to what is wrong with it, so each missing
    or bad mask is reported by name.
    """

    def __init__(self, phase: int, query_dir: Path, labels_dir: Path, problems: dict[str, str]) -> None:
        self.phase = phase
        self.query_dir = query_dir
        self.labels_dir = labels_dir
        self.problems = problems
        shown = "\n".join(f"  {k}: {v}" for k, v in list(problems.items())[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"phase {phase}: waiting for labels ({len(problems)} to fix).\n"
            f"The images to label are in {query_dir} (queries.csv lists ids, scores and source files).\n"
            f"Save one mask per image into {labels_dir}, with the same file name as the query PNG\n"
            f"(0/255 binary, or class indices 0..C-1), then run the same command again.\n"
            f"Still to do:\n{shown}{more}"
        )


class Oracle(ABC):
    """Gives labels for queried pool ids; subclasses register under ``name`` (``active.oracle``)."""

    name: ClassVar[str]

    def answerable(self, pool_ids: Sequence[str]) -> list[str]:
        """The pool ids this oracle can label, in order: all of them unless it only reveals labels
        the data already has."""
        return list(pool_ids)

    def given_ids(self) -> list[str]:
        """Pool ids whose labels the user supplied up front: they start the labeled set (phase 0)
        without a query; all of them, or up to ``active.initial`` (``active.given_labels``)."""
        return []

    @abstractmethod
    def request(self, phase: int, ids: Sequence[str], scores: Sequence[float | None]) -> dict[str, np.ndarray]:
        """Labels for every id in ``ids`` (masks ``[H, W]`` or 0-d class labels), or raise
        :class:`WaitingForLabels`. Asking again for the same phase must be safe (resume)."""
