"""Per-image reductions: an uncertainty map ``[N, *S]`` -> one score per image ``[N]``.

Every reduction takes ``(maps [N, *S], mean_probs [N, C, *S])``; the mean probability (over the
T samples) is what ``fg_weighted`` weighs by. Class 0 is background (targets store 0 there).
Classification maps are already ``[N]``: every reduction returns them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from automl_al.registries import REDUCTIONS

Reduction = Callable[[Tensor, Tensor], Tensor]

BACKGROUND = 0
# Below this total foreground weight an image counts as "no foreground" (score 0, not 0 / 0).
_MIN_WEIGHT = 1e-8


def _pixels(maps: Tensor) -> Tensor:
    """``[N, *S] -> [N, P]`` with P = prod(S)."""
    return maps.reshape(maps.shape[0], -1)


def reduce_mean(maps: Tensor, mean_probs: Tensor) -> Tensor:
    """Mean over pixels (the default): image size does not change the score's scale."""
    return maps if maps.ndim == 1 else _pixels(maps).mean(dim=1)


def reduce_sum(maps: Tensor, mean_probs: Tensor) -> Tensor:
    """Sum over pixels: S1's "accumulated over the image's pixels"; same ranking as mean at one size."""
    return maps if maps.ndim == 1 else _pixels(maps).sum(dim=1)


def reduce_fg_weighted(maps: Tensor, mean_probs: Tensor) -> Tensor:
    """Mean over pixels weighted by the predicted foreground probability w = 1 - p_background.

    Uncertainty on the large, easy background then cannot drown the uncertainty at the organ's
    border. score = sum(w * u) / max(sum(w), 1e-8): an image with no predicted foreground at all
    scores 0 instead of 0 / 0 (its uncertainty is ~0 anyway, as p_background ~ 1 at every pixel).
    """
    if maps.ndim == 1:
        return maps
    weights = _pixels(1.0 - mean_probs[:, BACKGROUND])  # [N, P]
    total = weights.sum(dim=1)
    weighted = (weights * _pixels(maps)).sum(dim=1)
    return weighted / total.clamp_min(_MIN_WEIGHT)


REDUCTIONS.register("mean", reduce_mean)
REDUCTIONS.register("sum", reduce_sum)
REDUCTIONS.register("fg_weighted", reduce_fg_weighted)


def get_reduction(name: str) -> Reduction:
    """The reduction called ``name`` (``active.reduction``); unknown names list the valid ones."""
    return REDUCTIONS.get(name)
