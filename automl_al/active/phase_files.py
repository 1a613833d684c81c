"""A phase's score file (``scores.csv``: one score per scored id, in scoring order)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _scores_csv(ids: Sequence[str], scores: Sequence[float | None]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "score"])
    writer.writerows((i, "" if s is None else repr(float(s))) for i, s in zip(ids, scores, strict=True))
    return buffer.getvalue()


def _read_scores(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["id"] for r in rows], np.array([float(r["score"]) for r in rows], dtype=np.float64)
