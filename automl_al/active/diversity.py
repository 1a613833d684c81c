"""Diversity sampling over embeddings (S4): positions in, positions out, memory linear in the pool.

S4 writes both algorithms as one rule: d_i = min over picked j of ||f_i - f_j||_2, pick i with
probability proportional to d_i^(1/T). T -> 0 is k-center greedy (:func:`k_center_greedy`, the
``coreset`` query of Sener & Savarese); T = 0.5 is k-means++ seeding (:func:`kmeans_pp`, the
initial set and BADGE's sampler). The embeddings that go in decide the strategy:

- ``coreset``: the features themselves (:func:`k_center_greedy`, labeled images as first centres);
- ``badge``: last-layer gradient embeddings (:func:`badge_embedding`) or, for segmentation, pooled
  features scaled by the image's uncertainty (:func:`scaled_embedding`), then k-means++;
- ``consistency_embedding``: features scaled by the summed class-wise variance over augmented copies
  (:func:`scaled_embedding` with :func:`automl_al.active.acquisition.committee.consistency_variance`
  reduced per image), then k-center greedy.

These functions return positions into their inputs; :mod:`automl_al.active.selection` maps IDs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def as_points(features: np.ndarray | Tensor, rows: int | None = None) -> Tensor:
    """``[N, D]`` as a CPU tensor (float64 stays float64, anything else float32), finite, checked."""
    points = torch.as_tensor(features)
    if points.ndim != 2 or (rows is not None and points.shape[0] != rows):
        want = f"{rows} rows" if rows is not None else "a 2-D array"
        raise ValueError(f"need one feature row per image ([N, D], {want}), but got features of shape {tuple(points.shape)}")
    points = points.to("cpu", torch.float64 if points.dtype == torch.float64 else torch.float32)
    if not bool(torch.isfinite(points).all()):
        raise ValueError("features hold NaN or inf; the model that embedded the images is broken (check its training loss)")
    return points


def _distances(points: Tensor, center: Tensor) -> Tensor:
    """``||points_i - center||_2`` as ``[N]``, computed from differences (exact for near-copies) without an N x D temporary."""
    return torch.cdist(points, center[None], compute_mode="donot_use_mm_for_euclid_dist")[:, 0]


def k_center_greedy(
    points: Tensor, k: int, *, first: int | None = None, centers: Tensor | None = None
) -> list[int]:
    """``k`` positions by k-center greedy (T -> 0): each pick is the point farthest from all centres so far.

    The first centres are ``centers [L, D]`` (the labeled images, Sener & Savarese's coreset) when
    given, else the point at ``first``, which is then the first pick. Ties go to the lowest position,
    so a caller sets the tie order by the order of its rows. ``k`` beyond the pool returns it all.

    O(N * (k + L) * D) time; O(N) extra memory: one running min-distance vector, never an N x N matrix.

    >>> k_center_greedy(torch.tensor([[0.0, 0], [1, 0], [5, 0], [0.5, 0]]), 3, first=0)
    [0, 2, 1]
    """
    n = points.shape[0]
    if k < 0:
        raise ValueError(f"k (active.query_size) must be >= 0, but got k={k}")
    if (first is None) == (centers is None or centers.shape[0] == 0):
        raise ValueError("k_center_greedy needs exactly one start: first (a position) or centers (>= 1 row)")
    k = min(k, n)
    if k == 0:
        return []
    picked: list[int] = []
    nearest = torch.full((n,), torch.inf, dtype=points.dtype)
    if centers is not None and centers.shape[0]:
        for center in centers.to(points.dtype):
            torch.minimum(nearest, _distances(points, center), out=nearest)
    else:
        picked.append(int(first))  # type: ignore[arg-type]
        nearest = _distances(points, points[picked[0]])
    while len(picked) < k:
        nearest[picked] = -1.0  # picked points never win again, even where every distance is 0
        best = int(torch.argmax(nearest))
        picked.append(best)
        torch.minimum(nearest, _distances(points, points[best]), out=nearest)
    return picked


def kmeans_pp(points: Tensor, k: int, *, seed: int) -> list[int]:
    """``k`` distinct positions by k-means++ seeding (T = 0.5): scikit-learn's ``kmeans_plusplus``.

    The picks are exactly scikit-learn's for ``random_state=seed`` (first centre uniform, then
    greedy k-means++ with 2 + ln k local trials) as long as they are distinct. scikit-learn repeats a
    position once every remaining point coincides with a centre (zero potential); those repeats are
    replaced, in order, by the k-center greedy continuation, so the batch is k different images.
    ``k`` beyond the pool returns it all. O(N * k * D) time, O(N) extra memory (distances of a
    few candidates at a time).
    """
    from sklearn.cluster import kmeans_plusplus  # type: ignore[import-untyped]

    n = points.shape[0]
    if k < 0:
        raise ValueError(f"k must be >= 0, but got k={k}")
    k = min(k, n)
    if k == 0:
        return []
    _, indices = kmeans_plusplus(points.numpy(), n_clusters=k, random_state=seed)
    picked = list(dict.fromkeys(int(i) for i in indices))
    if len(picked) < k:
        taken = set(picked)
        rest = k_center_greedy(points, k, centers=points[picked])
        picked += [i for i in rest if i not in taken][: k - len(picked)]
    return picked


def scaled_embedding(scores: np.ndarray | Tensor, features: Tensor) -> Tensor:
    """``g_i = score_i * f_i``: S4's consistency embedding and BADGE's segmentation embedding.

    The norm grows with the score, so uncertain images lie far out and k-center / k-means++ reach
    them first, while near-copies of a picked image stay close to it. Scores must be finite and >= 0.
    """
    s = torch.as_tensor(scores, dtype=features.dtype)
    if s.shape != (features.shape[0],):
        raise ValueError(f"need one score per feature row: {features.shape[0]} rows but scores of shape {tuple(s.shape)}")
    bad = torch.nonzero(~torch.isfinite(s) | (s < 0)).flatten()
    if bad.numel():
        i = int(bad[0])
        raise ValueError(
            f"diversity embeddings scale features by a score that must be finite and >= 0, but {bad.numel()} "
            f"are not (e.g. row {i}: {float(s[i])}); use an uncertainty heuristic, not a power_* key"
        )
    return s[:, None] * features


def badge_embedding(probs: Tensor, features: Tensor) -> Tensor:
    """BADGE (Ash et al. 2020) for classification: the gradient of the cross-entropy at the predicted
    label with respect to the last linear layer, ``(p - onehot(argmax p)) (x) f``.

    ``probs [N, C]`` (softmax of the model, one deterministic pass), ``features [N, D]`` (the
    penultimate vector the last layer reads) -> ``[N, C * D]``, row-major ``[c, d]``. Its norm is
    large where the model is unsure (p far from its own one-hot), so k-means++ on it mixes
    uncertainty and diversity. The bias gradient (p - onehot) is left out, as in BADGE.
    """
    if probs.ndim != 2 or features.ndim != 2 or probs.shape[0] != features.shape[0]:
        raise ValueError(
            f"badge_embedding needs probs [N, C] and features [N, D] for the same N, but got "
            f"{tuple(probs.shape)} and {tuple(features.shape)}; for segmentation use scaled_embedding"
        )
    probs = probs.to(features.dtype)
    residual = probs - torch.nn.functional.one_hot(probs.argmax(dim=1), probs.shape[1]).to(probs.dtype)
    return (residual[:, :, None] * features[:, None, :]).reshape(probs.shape[0], -1)


__all__ = ["as_points", "badge_embedding", "k_center_greedy", "kmeans_pp", "scaled_embedding"]
