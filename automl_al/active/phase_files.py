"""A phase's files between scoring and querying: ``scores.csv`` (one score per scored id, in
scoring order) and, for k-center batches, ``features.npy`` (a feature row per scored id, same order).

Both are written before the step that made them is marked done, and a resumed query reads them
back, so a crash between scoring and querying gives the same batch as an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from automl_al.utils import atomic_write_bytes


def scores_csv(ids: Sequence[str], scores: Sequence[float | None]) -> str:
    """``id,score`` rows at full precision (``repr``); a None score (given labels) is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "score"])
    writer.writerows((i, "" if s is None else repr(float(s))) for i, s in zip(ids, scores, strict=True))
    return buffer.getvalue()


def read_scores(path: Path) -> tuple[list[str], np.ndarray]:
    """The ids and float64 scores of a ``scores.csv`` written by :func:`scores_csv`."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["id"] for r in rows], np.array([float(r["score"]) for r in rows], dtype=np.float64)


def write_features(path: Path, features: np.ndarray) -> None:
    """Save float32 feature rows atomically, as plain ``.npy`` (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, features.astype(np.float32), allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def read_features(path: Path) -> np.ndarray:
    """The feature rows saved by :func:`write_features`."""
    return np.asarray(np.load(path, allow_pickle=False))
