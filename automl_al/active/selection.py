"""Pick images to label by ID: top-K by score with seeded tie-breaks, S4's k-center greedy over
score-scaled features, and S2's random pre-draw.

Both functions take and return sample IDs, never positions, so a pool that shrinks between
phases cannot shift which image a number points to (baal issues #29, #200).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

_SHOWN = 10  # how many offending ids an error message lists


def _check_ids(ids: Sequence[str]) -> None:
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise ValueError(f"sample ids must be unique, but these repeat: {dupes[:_SHOWN]}")


def select_top_k(ids: Sequence[str], scores: np.ndarray, k: int, *, seed: int) -> list[str]:
    """The ``k`` ids with the highest scores, best first; ``k`` beyond the pool returns it all.

    Ties are broken by ``seed``: the pool is shuffled with it, then stably sorted by -score, so
    equal scores come out in a random order that repeats for the same seed. ``-inf`` is allowed
    (ranked last); NaN is an error, as it means a broken model, not an uninformative image.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(ids),):
        raise ValueError(f"need one score per id: {len(ids)} ids but scores of shape {scores.shape}")
    if k < 0:
        raise ValueError(f"k (active.query_size) must be >= 0, but got k={k}")
    _check_ids(ids)
    nan = np.flatnonzero(np.isnan(scores))
    if nan.size:
        shown = [ids[i] for i in nan[:_SHOWN]]
        raise ValueError(
            f"{nan.size} NaN acquisition scores (e.g. ids {shown}); the model's probabilities are "
            "not finite — check the training loss and learning rate before querying"
        )
    shuffled = np.random.default_rng(seed).permutation(len(ids))
    ranked = shuffled[np.argsort(-scores[shuffled], kind="stable")]
    return [ids[i] for i in ranked[:k]]


def select_k_center(ids: Sequence[str], scores: np.ndarray, features: np.ndarray, k: int, *, seed: int) -> list[str]:
    """``k`` ids by k-center greedy on ``g_i = score_i * features_i`` (S4's query), in pick order.

    The first pick is the top score (:func:`select_top_k`, so ties go by ``seed`` there too); each
    next one is the image farthest from every image picked so far. Scaling by the score keeps the
    preference for uncertain images (they lie far from the origin) while a near-copy of a picked
    image, close to it in feature space, is passed over: top-K of a stack of slices often takes
    five neighbours of one hard case. Scores must be finite and >= 0 (an uncertainty, not a rank).

    >>> select_k_center(["a", "b", "c"], np.array([2.0, 1.9, 1.0]), np.array([[1, 0], [1, 0.05], [0, 1]]), 2, seed=0)
    ['a', 'c']
    """
    scores = np.asarray(scores, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != len(ids):
        raise ValueError(f"need one feature row per id: {len(ids)} ids but features of shape {features.shape}")
    order = select_top_k(ids, scores, len(ids), seed=seed)  # checks ids, the scores' shape, NaN and k
    if k < 0:
        raise ValueError(f"k (active.query_size) must be >= 0, but got k={k}")
    bad = np.flatnonzero(~np.isfinite(scores) | (scores < 0))
    if bad.size:
        raise ValueError(
            f"active.diversity kcenter scales features by the acquisition score, which must be finite and "
            f">= 0, but {bad.size} are not (e.g. {ids[bad[0]]}: {scores[bad[0]]}); use an uncertainty "
            "heuristic (mfe, mi, std, ...), not a power_* key"
        )
    if k == 0 or not ids:
        return []
    position = {i: n for n, i in enumerate(ids)}
    tie_order = np.array([position[i] for i in order])  # argmax over this order breaks ties as top-K does
    g = scores[tie_order, None] * features[tie_order]
    picked = [0]
    nearest = np.linalg.norm(g - g[0], axis=1)
    for _ in range(min(k, len(ids)) - 1):
        nearest[picked] = -1.0
        best = int(np.argmax(nearest))
        picked.append(best)
        nearest = np.minimum(nearest, np.linalg.norm(g - g[best], axis=1))
    return [order[n] for n in picked]


def subsample_pool(ids: Sequence[str], e: int | None, *, seed: int) -> list[str]:
    """S2: a random subset of ``e`` ids to score, in pool order; ``None`` or ``e >= len`` keeps all."""
    _check_ids(ids)
    if e is not None and e < 1:
        raise ValueError(f"e (active.subsample) must be >= 1 or None for the whole pool, but got e={e}")
    if e is None or e >= len(ids):
        return list(ids)
    keep = np.sort(np.random.default_rng(seed).choice(len(ids), size=e, replace=False))
    return [ids[i] for i in keep]
