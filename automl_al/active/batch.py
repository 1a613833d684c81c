"""How a phase picks its K images from the scored pool (``active.diversity``): the registered ways.

- ``none``: the top K by score (:func:`~automl_al.active.selection.select_top_k`);
- ``kcenter``: k-center greedy over encoder features scaled by the score (S4), so that a batch is
  not K near-copies of one hard case (:func:`~automl_al.active.selection.select_k_center`).

An entry says what it needs, and the loop and the learner ask it instead of branching on names:
``needs_features`` makes the learner embed the scored images (saved beside the scores, so a resumed
query uses the same rows); ``scales_by_score`` makes the config refuse acquisitions whose scores are
sort keys rather than uncertainties (``power_*``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from automl_al.active.selection import select_k_center, select_top_k
from automl_al.registries import DIVERSITIES

# (ids, scores [N], features [N, D] or None, k, seed) -> the chosen ids, in pick order
Select = Callable[[Sequence[str], np.ndarray, "np.ndarray | None", int, int], list[str]]


@dataclass(frozen=True)
class Diversity:
    """One way to choose a batch; see the module docstring for what the flags make others do."""

    select: Select
    needs_features: bool = False
    scales_by_score: bool = False


def _top_k(ids: Sequence[str], scores: np.ndarray, features: np.ndarray | None, k: int, seed: int) -> list[str]:
    return select_top_k(ids, scores, k, seed=seed)


def _k_center(ids: Sequence[str], scores: np.ndarray, features: np.ndarray | None, k: int, seed: int) -> list[str]:
    if features is None:
        raise ValueError("active.diversity kcenter needs one feature row per scored image, but got none")
    return select_k_center(ids, scores, features, k, seed=seed)


DIVERSITIES.register("none", Diversity(_top_k))
DIVERSITIES.register("kcenter", Diversity(_k_center, needs_features=True, scales_by_score=True))
