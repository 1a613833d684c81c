"""Pick images to label by ID: top-K by score with seeded tie-breaks, S2's random pre-draw, and the
batch-diverse strategies over embeddings (the math in :mod:`automl_al.active.diversity`):

- :func:`select_k_center`: k-center greedy on score-scaled features, starting at the top score;
- :func:`select_consistency_embedding`: S4's query, the same with the consistency score;
- :func:`select_coreset`: plain k-center greedy (Sener & Savarese), the labeled images as centres;
- :func:`select_kmeans_pp`: k-means++ seeding, scikit-learn's picks for the seed (S4's initial set);
- :func:`select_badge`: k-means++ on BADGE's gradient embeddings.

Every function takes and returns sample IDs, never positions, so a pool that shrinks between
phases cannot shift which image a number points to (baal issues #29, #200). All are seeded and use
memory linear in the pool (no N x N matrix).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from automl_al.active.diversity import (
    as_points,
    badge_embedding,
    k_center_greedy,
    kmeans_pp,
    scaled_embedding,
)

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
    features = np.asarray(features)
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
    g = scaled_embedding(scores[tie_order], as_points(features)[torch.as_tensor(tie_order)])  # float32 stays float32
    return [order[n] for n in k_center_greedy(g, k, first=0)]


def select_consistency_embedding(
    ids: Sequence[str], consistency: np.ndarray, features: np.ndarray, k: int, *, seed: int
) -> list[str]:
    """S4's ``consistency_embedding`` query: :func:`select_k_center` with the summed class-wise
    variance over augmented copies as the score (``ConsistencyVariance`` reduced per image), so
    ``g_i = (sum_c var_i,c) f_i`` and k-center greedy on g."""
    return select_k_center(ids, consistency, features, k, seed=seed)


def select_coreset(
    ids: Sequence[str], features: np.ndarray, k: int, *, seed: int, labeled_features: np.ndarray | None = None
) -> list[str]:
    """``coreset`` (Sener & Savarese 2018): k-center greedy on the plain features, in pick order.

    The labeled images' features are the first centres, so the batch covers what the labeled set
    does not; without any (an initial set) the first pick is a uniform draw by ``seed``. Ties go by
    a ``seed``-shuffled order. S4 advises against it for the initial set (class-imbalanced picks).
    """
    _check_ids(ids)
    points = as_points(features, len(ids))
    order = np.random.default_rng(seed).permutation(len(ids))
    labeled = None if labeled_features is None else as_points(labeled_features)
    if labeled is not None and labeled.shape[1] != points.shape[1]:
        raise ValueError(f"labeled_features have {labeled.shape[1]} columns but features {points.shape[1]}")
    shuffled = points[torch.as_tensor(order)]
    if labeled is not None and labeled.shape[0]:
        picks = k_center_greedy(shuffled, k, centers=labeled)
    else:
        picks = k_center_greedy(shuffled, k, first=0)
    return [ids[order[n]] for n in picks]


def select_kmeans_pp(ids: Sequence[str], features: np.ndarray, k: int, *, seed: int) -> list[str]:
    """``k`` ids by k-means++ seeding (scikit-learn's ``kmeans_plusplus``, ``random_state=seed``), in pick order."""
    _check_ids(ids)
    return [ids[n] for n in kmeans_pp(as_points(features, len(ids)), k, seed=seed)]


def select_badge(
    ids: Sequence[str],
    features: np.ndarray,
    k: int,
    *,
    seed: int,
    probs: np.ndarray | None = None,
    scores: np.ndarray | None = None,
) -> list[str]:
    """``badge`` (Ash et al. 2020): k-means++ on gradient embeddings, in pick order.

    Classification: give ``probs [N, C]`` (one deterministic softmax pass) and the penultimate
    ``features [N, D]``: the embedding is (p - onehot(argmax p)) (x) f. Segmentation has no single
    last-layer gradient per image: give ``scores [N]`` (an uncertainty per image, e.g. ``mfe``) and
    the pooled features, and the embedding is score * f (the issue's "pooled features scaled by
    uncertainty"). Exactly one of ``probs`` / ``scores``.
    """
    _check_ids(ids)
    if (probs is None) == (scores is None):
        raise ValueError("select_badge needs exactly one of probs (classification) or scores (segmentation)")
    points = as_points(features, len(ids))
    if probs is not None:
        embedding = badge_embedding(torch.as_tensor(probs), points)
    else:
        embedding = scaled_embedding(np.asarray(scores, dtype=np.float64), points)
    return [ids[n] for n in kmeans_pp(embedding, k, seed=seed)]


def subsample_pool(ids: Sequence[str], e: int | None, *, seed: int) -> list[str]:
    """S2: a random subset of ``e`` ids to score, in pool order; ``None`` or ``e >= len`` keeps all."""
    _check_ids(ids)
    if e is not None and e < 1:
        raise ValueError(f"e (active.subsample) must be >= 1 or None for the whole pool, but got e={e}")
    if e is None or e >= len(ids):
        return list(ids)
    keep = np.sort(np.random.default_rng(seed).choice(len(ids), size=e, replace=False))
    return [ids[i] for i in keep]
