"""When active learning stops: whichever rule fires first, checked after each phase is evaluated.

Rules, in the order they are checked (the first that fires is the recorded reason):

- ``iou_threshold``: the monitored metric reached ``active.iou_threshold`` (``<monitor>_iou`` for
  segmentation, ``<monitor>_balanced_accuracy`` for classification; ``active.monitor`` picks the
  validation split (default) or the test split, as S1 did);
- ``budget``: the labeled set reached ``active.budget`` (a count, or a fraction of the pool);
- ``pool_empty``: no unlabeled image is left;
- ``max_phases``: ``active.max_phases`` phases have been trained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from automl_al.config import ActiveConfig, Task


@dataclass(frozen=True)
class Progress:
    """Where the run stands after training phase ``phase``."""

    phase: int
    metrics: Mapping[str, float]  # "val_iou", "test_iou", ...
    labeled: int
    unlabeled: int


def monitored_metric(task: Task, monitor: str) -> str:
    return f"{monitor}_iou" if task == "segmentation" else f"{monitor}_balanced_accuracy"


def budget_count(budget: float | int | None, pool_size: int) -> int | None:
    """``active.budget`` as a number of labeled images (a float is a fraction of the pool)."""
    if budget is None:
        return None
    if isinstance(budget, float):
        return math.floor(budget * pool_size + 1e-9)
    return int(budget)


def query_count(active: ActiveConfig, labeled: int, unlabeled: int, pool_size: int) -> int:
    """How many images to query now: K, capped by what is left of the pool and of the budget."""
    k = min(active.query_size, unlabeled)
    budget = budget_count(active.budget, pool_size)
    return k if budget is None else max(0, min(k, budget - labeled))


Rule = Callable[[ActiveConfig, Task, Progress, int], bool]


def _threshold(active: ActiveConfig, task: Task, p: Progress, pool_size: int) -> bool:
    if active.iou_threshold is None:
        return False
    value = p.metrics.get(monitored_metric(task, active.monitor))
    return value is not None and value >= active.iou_threshold


def _budget(active: ActiveConfig, task: Task, p: Progress, pool_size: int) -> bool:
    budget = budget_count(active.budget, pool_size)
    return budget is not None and p.labeled >= budget


def _pool_empty(active: ActiveConfig, task: Task, p: Progress, pool_size: int) -> bool:
    return p.unlabeled == 0


def _max_phases(active: ActiveConfig, task: Task, p: Progress, pool_size: int) -> bool:
    return p.phase >= active.max_phases


RULES: tuple[tuple[str, Rule], ...] = (
    ("iou_threshold", _threshold),
    ("budget", _budget),
    ("pool_empty", _pool_empty),
    ("max_phases", _max_phases),
)


def stop_reason(active: ActiveConfig, task: Task, progress: Progress, pool_size: int) -> str | None:
    """The name of the first rule that fires, or None to go on querying."""
    for name, rule in RULES:
        if rule(active, task, progress, pool_size):
            return name
    return None
