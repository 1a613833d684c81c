"""Uncertainty maps from MC probabilities: pure tensor math, no state, inputs never mutated.

Contract: ``probs`` is ``[T, N, C, *S]`` (T MC samples first, N images, C classes, S spatial dims,
empty for classification) holding probabilities already (softmax applied upstream; we never guess
from the value range whether a tensor holds logits). Every function returns a map ``[N, *S]`` in
which higher means more informative.

Entropies use the natural log (nats), as S1 writes them; only :func:`class_entropy_bits` uses log2
(S2). ``xlogy`` gives exactly ``0 * log 0 = 0``, so exact zeros are safe without an epsilon.
Half-precision inputs (AMP) are upcast to float32 so that sums over classes keep their digits.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_T, _C = 0, 2  # MC-sample axis and class axis of ``probs``


def check_probs(probs: Tensor) -> Tensor:
    """Shape/dtype check; half precision upcast (a new tensor, so the input stays untouched)."""
    if probs.ndim < 3:
        raise ValueError(
            f"probs must be [T, N, C, *S] (MC samples first), but got shape {tuple(probs.shape)}; "
            "add the sample axis with probs.unsqueeze(0) for a single deterministic pass"
        )
    if not probs.is_floating_point():
        raise TypeError(f"probs must be a floating-point tensor of probabilities, but got {probs.dtype}")
    if probs.dtype in (torch.float16, torch.bfloat16):
        return probs.float()
    return probs


def _entropy(p: Tensor, dim: int) -> Tensor:
    """-sum p log p over ``dim`` in nats; exactly 0 where p is one-hot."""
    return -torch.special.xlogy(p, p).sum(dim=dim)


def predictive_entropy(probs: Tensor) -> Tensor:
    """``mfe`` (mean-first entropy): H[mean_t p_t] in nats. ``[T, N, C, *S] -> [N, *S]``."""
    probs = check_probs(probs)
    return _entropy(probs.mean(dim=_T), dim=1)  # mean: [N, C, *S]


def expected_entropy(probs: Tensor) -> Tensor:
    """``cfe`` (category-first entropy): mean_t H[p_t] in nats. ``[T, N, C, *S] -> [N, *S]``."""
    probs = check_probs(probs)
    return _entropy(probs, dim=_C).mean(dim=_T)  # per sample: [T, N, *S]


def mutual_information(probs: Tensor) -> Tensor:
    """``mi`` (BALD): H[mean] - mean H, in nats, clamped at 0. ``[T, N, C, *S] -> [N, *S]``.

    The difference is >= 0 mathematically (Jensen); rounding can make it a hair negative, and the
    clamp is S1's ``|H_mean - H_cat|`` without letting rounding noise rank as information.
    """
    return (predictive_entropy(probs) - expected_entropy(probs)).clamp_min(0.0)


def std(probs: Tensor) -> Tensor:
    """``std``: mean over classes of the population standard deviation over T of each probability.

    S1 says only "standard deviation of the T probabilities"; we take the std over the T samples
    with ``correction=0`` (divide by T, as baal's variance does) per class, then average over the C
    classes. For two classes both per-class stds are equal, so this is the foreground-prob std.
    ``[T, N, C, *S] -> [N, *S]``.
    """
    probs = check_probs(probs)
    return probs.std(dim=_T, correction=0).mean(dim=1)  # std over T: [N, C, *S]


def margin(probs: Tensor) -> Tensor:
    """``margin``: 1 - (p1 - p2) of the mean probability (top two classes), so higher = less sure.

    ``[T, N, C, *S] -> [N, *S]``; needs C >= 2.
    """
    probs = check_probs(probs)
    if probs.shape[_C] < 2:
        raise ValueError(f"margin needs at least 2 classes, but probs has C={probs.shape[_C]}")
    top2 = probs.mean(dim=_T).topk(2, dim=1).values  # [N, 2, *S]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def class_entropy_bits(probs: Tensor) -> Tensor:
    """S2's class entropy -sum_c y_c log2 y_c of the mean probability, in bits. ``-> [N, *S]``.

    With T = 1 (a deterministic pass) it is the plain entropy of the prediction, as S2 uses it.
    """
    return predictive_entropy(probs) / math.log(2.0)
