"""Checks every record passes before it enters the cache: found at discovery, never mid-training.

Each failed check goes through :class:`Problems` (raise naming the file, or skip and list it), so
``on_bad_file: skip`` leaves exactly the bad samples out and says which and why.
"""

from __future__ import annotations

import numpy as np

from automl_al.config import DataConfig, Task
from automl_al.data.problems import Problems
from automl_al.data.records import DataError, Record


def _where(record: Record) -> str:
    return record.source or record.id


def task_target(record: Record, task: Task) -> np.ndarray | int | None:
    """The record's target for ``task``: a mask source may carry an image-level ``meta["label"]``."""
    t = record.target
    if t is None or task == "segmentation" or not isinstance(t, np.ndarray):
        return t
    if "label" not in record.meta:
        raise DataError(
            f"{_where(record)}: task is classification but this source yields masks and no image label; "
            "set task: segmentation or use data.source: classes"
        )
    return int(record.meta["label"])


def _check_image(record: Record) -> str | None:
    img = record.image
    if not isinstance(img, np.ndarray) or img.ndim != 3 or min(img.shape) < 1:
        return f"image must be a [C, H, W] array, got shape {getattr(img, 'shape', None)}"
    if not np.isfinite(img).all():
        return "image contains NaN or infinite values"
    return None


def _check_target(record: Record, target: np.ndarray | int | None, cfg: DataConfig, task: Task) -> str | None:
    k = cfg.classes
    if target is None:
        return None
    if task == "classification":
        if not isinstance(target, int | np.integer) or not 0 <= int(target) < k:
            return f"label {target!r} is outside the declared classes 0..{k - 1} (data.classes={k})"
        return None
    if not isinstance(target, np.ndarray):
        raise DataError(f"{_where(record)}: task is segmentation but the source yields class labels; set task: classification")
    if target.shape != record.image.shape[1:]:
        return f"mask shape {tuple(target.shape)} differs from image shape {tuple(record.image.shape[1:])}"
    bad = np.unique(target[(target < 0) | (target >= k)])
    if bad.size:
        shown = ", ".join(str(v) for v in bad[:8])
        return (
            f"mask values {{{shown}}} are outside the declared classes 0..{k - 1} (data.classes={k}); "
            "fix the mask or raise data.classes"
        )
    return None


class RecordChecker:
    """Validates records in stream order; remembers ids to refuse duplicates."""

    def __init__(self, cfg: DataConfig, task: Task, problems: Problems) -> None:
        self.cfg = cfg
        self.task = task
        self.problems = problems
        self._seen: dict[str, str] = {}

    def check(self, record: Record) -> tuple[bool, np.ndarray | int | None]:
        """``(usable, task target)``; ``usable`` is False when the record was reported and skipped."""
        if record.id in self._seen:
            self.problems.report(_where(record), f"duplicate id {record.id!r} (also from {self._seen[record.id]})")
            return False, None
        target = task_target(record, self.task)
        problem = _check_image(record)
        if problem:
            self.problems.report(_where(record), problem)
            return False, None
        problem = _check_target(record, target, self.cfg, self.task)
        if problem:  # name the mask file when the source says which it is
            self.problems.report(record.meta.get("mask_file", _where(record)), problem)
            return False, None
        self._seen[record.id] = _where(record)
        return True, target
