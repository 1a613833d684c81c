"""Score every unlabeled image once: MC probabilities per batch -> one float per image.

Memory stays flat in the pool size and in T: each batch's ``[T, B, C, *S]`` probabilities are
reduced to ``[B]`` scores on the device, and only those go to the CPU, into arrays allocated once.
The loader yields ``(image, index)`` (an unlabeled dataset), so scoring can never read a pool label.

Example:
    >>> result = score_pool(mc_probs_fn, loader, create_acquisition("mfe", seed=0),
    ...                     get_reduction("mean"), device="cpu")          # doctest: +SKIP
    >>> result.scores.shape, result.seconds_per_image                     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from automl_al.active.acquisition import Acquisition, Reduction
from automl_al.utils import progress_bar

ProbsFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class PoolScores:
    """One pass over the pool, sorted by dataset index (whatever order the loader used)."""

    indices: np.ndarray  # int64 [N]: the index each unlabeled item yielded with its image
    scores: np.ndarray  # float64 [N]: higher = more informative
    seconds: float  # wall time of the whole pass, MC forward passes included

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / len(self.scores) if len(self.scores) else 0.0


def _batch_scores(
    probs_fn: ProbsFn, images: Tensor, acquisition: Acquisition, reduction: Reduction
) -> np.ndarray:
    """``images [B, ...]`` -> float64 ``[B]`` on the CPU; the ``[T, B, ...]`` tensor dies here."""
    probs = probs_fn(images)
    batch = images.shape[0]
    if probs.ndim < 3 or probs.shape[1] != batch:
        raise ValueError(
            f"probs_fn must return probabilities [T, B, C, *S] for a batch of B={batch} images, "
            f"but returned shape {tuple(probs.shape)}"
        )
    scores = acquisition(probs, reduction)
    if scores.shape != (batch,):
        raise ValueError(
            f"acquisition {acquisition.name!r} must return one score per image, shape ({batch},), "
            f"but returned {tuple(scores.shape)}"
        )
    return scores.cpu().double().numpy()


def score_pool(
    probs_fn: ProbsFn,
    loader: DataLoader,
    acquisition: Acquisition,
    reduction: Reduction,
    *,
    device: torch.device | str,
    progress: bool = False,
) -> PoolScores:
    """Score each item of ``loader.dataset`` exactly once (``drop_last`` must be False)."""
    size = len(loader.dataset)  # type: ignore[arg-type]
    indices = np.empty(size, dtype=np.int64)
    scores = np.empty(size, dtype=np.float64)
    filled = 0
    start = time.perf_counter()
    with torch.inference_mode():
        for images, index in progress_bar(loader, desc="scoring pool", unit="batch", disable=not progress):
            batch = len(index)
            if filled + batch > size:
                raise ValueError(f"loader yielded more than the {size} items of its dataset")
            scores[filled : filled + batch] = _batch_scores(
                probs_fn, images.to(device, non_blocking=True), acquisition, reduction
            )
            indices[filled : filled + batch] = torch.as_tensor(index).numpy()
            filled += batch
    seconds = time.perf_counter() - start
    if filled != size:
        raise ValueError(
            f"loader yielded {filled} of the {size} items of its dataset; use drop_last=False "
            "so that every pool image is scored"
        )
    if len(np.unique(indices)) != size:
        raise ValueError("loader yielded the same index twice; an unlabeled dataset's indices must be unique")
    order = np.argsort(indices, kind="stable")
    return PoolScores(indices=indices[order], scores=scores[order], seconds=seconds)
