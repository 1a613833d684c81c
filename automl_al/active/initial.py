"""The initial labeled set: random by seed, or k-means++ seeding over encoder features (S4).

k-means++ (sklearn's ``kmeans_plusplus``) spreads the first labels over the image distribution:
each next pick is drawn with probability proportional to its squared distance to the nearest one
already picked, on global-average-pooled encoder features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from automl_al.active.selection import select_kmeans_pp


def _check(candidates: Sequence[str], k: int) -> None:
    if k < 0 or k > len(candidates):
        raise ValueError(f"cannot pick {k} initial images from {len(candidates)} candidates (active.initial)")


def random_initial(candidates: Sequence[str], k: int, seed: int) -> list[str]:
    """``k`` ids drawn uniformly without replacement, in draw order; the same seed, the same set."""
    _check(candidates, k)
    picks = np.random.default_rng(seed).choice(len(candidates), size=k, replace=False)
    return [candidates[i] for i in picks]


def kmeans_pp_initial(features: np.ndarray, candidates: Sequence[str], k: int, seed: int) -> list[str]:
    """``k`` ids chosen by k-means++ seeding over ``features [N, D]`` (one row per candidate)."""
    _check(candidates, k)
    if features.shape[0] != len(candidates):
        raise ValueError(f"need one feature row per candidate: {features.shape[0]} rows for {len(candidates)} ids")
    return select_kmeans_pp(candidates, np.asarray(features, dtype=np.float64), k, seed=seed)
