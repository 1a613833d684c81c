"""S2's query step: draw E random unlabeled candidates, score each by its class entropy in bits,
label the L with the highest entropy (E = L: random sampling; E = None: score the whole pool).

Pure apart from ``predict``, the caller's model: it maps candidate ids to probabilities
``[T, N, C, *S]``, the project's one contract (T = 1 for S2's single deterministic pass:
``probs.unsqueeze(0)``; the axis is never guessed from the shape). Segmentation maps
are reduced to one score per image by ``reduction`` (mean over pixels by default). The two random
steps (the draw, the tie-break) get independent streams derived from ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from automl_al.active.acquisition.functional import class_entropy_bits
from automl_al.active.acquisition.reductions import Reduction, reduce_mean
from automl_al.active.selection import select_top_k, subsample_pool

Predict = Callable[[Sequence[str]], Tensor]


@dataclass(frozen=True)
class EntropyQuery:
    """``chosen``: ids to label, highest entropy first; ``candidates``: the E drawn (pool order);
    ``scores``: entropy in bits of every candidate, for the query log."""

    chosen: list[str]
    candidates: list[str]
    scores: dict[str, float]


def _streams(seed: int) -> tuple[int, int]:
    draw, tie = np.random.SeedSequence(seed).generate_state(2)
    return int(draw), int(tie)


def entropy_query(
    pool: Sequence[str],
    predict: Predict,
    *,
    candidates: int | None,
    take: int,
    seed: int,
    reduction: Reduction = reduce_mean,
) -> EntropyQuery:
    """Draw ``candidates`` (E) ids from ``pool``, score them with ``predict``, return the top ``take`` (L)."""
    if take < 1:
        raise ValueError(f"take (L, images labeled per query) must be >= 1, but got {take}")
    if candidates is not None and candidates < take:
        raise ValueError(f"candidates (E = {candidates}) must be >= take (L = {take}): E = L is random sampling")
    draw_seed, tie_seed = _streams(seed)
    drawn = subsample_pool(pool, candidates, seed=draw_seed)
    if not drawn:
        return EntropyQuery([], [], {})
    probs = predict(drawn)
    if probs.ndim < 3 or probs.shape[1] != len(drawn):
        raise ValueError(
            f"predict returned probabilities of shape {tuple(probs.shape)} for {len(drawn)} candidates; "
            "expected [T, N, C, *S] with N the number of ids it was given (T = 1: probs.unsqueeze(0))"
        )
    maps = class_entropy_bits(probs)  # [N, *S]
    scores = reduction(maps, probs.float().mean(dim=0)).detach().cpu().numpy().astype(np.float64)
    chosen = select_top_k(drawn, scores, take, seed=tie_seed)
    return EntropyQuery(chosen, list(drawn), dict(zip(drawn, scores.tolist(), strict=True)))



__all__ = ["EntropyQuery", "Predict", "entropy_query"]
