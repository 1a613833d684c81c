"""Pick images to label by ID: top-K by score with seeded tie-breaks, and S2's random pre-draw.

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


def subsample_pool(ids: Sequence[str], e: int | None, *, seed: int) -> list[str]:
    """S2: a random subset of ``e`` ids to score, in pool order; ``None`` or ``e >= len`` keeps all."""
    _check_ids(ids)
    if e is not None and e < 1:
        raise ValueError(f"e (active.subsample) must be >= 1 or None for the whole pool, but got e={e}")
    if e is None or e >= len(ids):
        return list(ids)
    keep = np.sort(np.random.default_rng(seed).choice(len(ids), size=e, replace=False))
    return [ids[i] for i in keep]
