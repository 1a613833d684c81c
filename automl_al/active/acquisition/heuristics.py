"""One small class per acquisition function: probabilities ``[T, N, C, *S]`` -> scores ``[N]``.

Higher score = more informative for every class, so the loop never branches on direction.
Uncertainty heuristics build a per-pixel map with :mod:`functional` and let a reduction turn it
into one score per image; ``random`` and ``fg_random`` score whole images and ignore the reduction.
:func:`power_sampling` wraps a heuristic so that the top K become a random draw weighted by score.
``needs_mc`` says whether the heuristic is meaningless without T >= 2 MC samples; those that do
not need them accept a single deterministic pass (T = 1).

Every class is built the same way, ``cls(seed)``, so a class is its own registry entry
(:mod:`~automl_al.active.acquisition.registry`); a class whose scores are uncertainties >= 0 sets
``power_variant`` and the registry then also offers ``power_<name>`` (:func:`power_sampling`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor

from automl_al.active.acquisition import functional as F
from automl_al.active.acquisition.reductions import BACKGROUND, Reduction, reduce_mean


class Acquisition(ABC):
    """Scores a batch of images; subclasses set ``name`` and ``needs_mc`` and implement ``score``."""

    name: ClassVar[str]
    needs_mc: ClassVar[bool] = True
    # Scores are uncertainties >= 0 (higher = more uncertain): the registry also offers power_<name>.
    power_variant: ClassVar[bool] = False
    # Scores are random sort keys (power sampling's), not uncertainties: only their order means
    # something, so nothing may scale by them (active.diversity kcenter refuses them).
    ranks_only: ClassVar[bool] = False

    def __init__(self, seed: int = 0) -> None:
        """One constructor for all (smp's uniform-constructor habit); deterministic ones ignore ``seed``."""

    def __call__(self, probs: Tensor, reduction: Reduction = reduce_mean) -> Tensor:
        """``probs [T, N, C, *S]`` -> ``scores [N]`` on the same device."""
        probs = F.check_probs(probs)
        if self.needs_mc and probs.shape[0] < 2:
            raise ValueError(
                f"acquisition {self.name!r} needs MC samples (T >= 2), but probs has T="
                f"{probs.shape[0]}; score with MC dropout (active.mc_samples >= 2) or pick an "
                "acquisition that works on one pass (random, fg_random, margin, entropy)"
            )
        return self.score(probs, reduction)

    @abstractmethod
    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        """Checked ``probs [T, N, C, *S]`` -> ``[N]``."""


class _MapAcquisition(Acquisition):
    """A per-pixel uncertainty map from :mod:`functional`, reduced to one score per image."""

    uncertainty: ClassVar[Callable[[Tensor], Tensor]]
    power_variant = True

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        return reduction(self.uncertainty(probs), probs.mean(dim=0))


class PredictiveEntropy(_MapAcquisition):
    """``mfe``: entropy of the mean prediction (S1's best function)."""

    name = "mfe"
    uncertainty = staticmethod(F.predictive_entropy)


class ExpectedEntropy(_MapAcquisition):
    """``cfe``: mean entropy of the individual MC predictions."""

    name = "cfe"
    uncertainty = staticmethod(F.expected_entropy)


class MutualInformation(_MapAcquisition):
    """``mi`` (BALD): disagreement between MC samples, mfe - cfe."""

    name = "mi"
    uncertainty = staticmethod(F.mutual_information)


class StandardDeviation(_MapAcquisition):
    """``std``: spread of the MC probabilities (mean over classes of the std over T)."""

    name = "std"
    uncertainty = staticmethod(F.std)


class Margin(_MapAcquisition):
    """``margin``: 1 - (top-1 - top-2) of the mean probability; works on one pass."""

    name = "margin"
    needs_mc = False
    uncertainty = staticmethod(F.margin)


class ClassEntropy(_MapAcquisition):
    """``entropy``: S2's class entropy in bits (log2) of the mean probability; works on one pass."""

    name = "entropy"
    needs_mc = False
    uncertainty = staticmethod(F.class_entropy_bits)


class _Seeded(Acquisition):
    """Draws from its own generator, so scores repeat for a seed and call order, whatever else runs."""

    needs_mc = False

    def __init__(self, seed: int) -> None:
        self._generator = torch.Generator().manual_seed(seed)

    def _uniform(self, probs: Tensor) -> Tensor:
        """One U[0, 1) draw per image, ``[N]``, on ``probs``' device (float32 unless probs is float64)."""
        dtype = torch.float64 if probs.dtype == torch.float64 else torch.float32
        return torch.rand(probs.shape[1], generator=self._generator, dtype=dtype).to(probs.device)


class RandomScores(_Seeded):
    """``random``: uniform random scores, the baseline every heuristic must beat (S1)."""

    name = "random"

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        return self._uniform(probs)


class ForegroundRandom(_Seeded):
    """``fg_random``: random among images predicted to contain foreground, then the others.

    An image has foreground when the argmax of its mean probability is not class 0 at some pixel
    (classification: when the predicted label is not 0). With T = 1 from the deterministic model
    that is the model's own prediction. Scores are U[0, 1) + 1 for foreground images and U[0, 1)
    for the rest, so top-K takes random foreground images first and falls back to the others
    when there are fewer than K, all scores staying finite. An image whose probabilities hold a
    NaN scores NaN (a broken model, refused by the selection), not a guess from argmax over NaN.
    """

    name = "fg_random"

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        predicted = probs.mean(dim=0).argmax(dim=1)  # [N, *S]
        has_fg = (predicted != BACKGROUND).reshape(predicted.shape[0], -1).any(dim=1)  # [N]
        uniform = self._uniform(probs)
        broken = probs.isnan().transpose(0, 1).reshape(probs.shape[1], -1).any(dim=1)  # [N]
        return (uniform + has_fg.to(uniform.dtype)).masked_fill(broken, float("nan"))


class _PowerSampling(_Seeded):
    """``power_<name>``: see :func:`power_sampling`; ``inner`` is the wrapped heuristic's class."""

    inner: ClassVar[type[Acquisition]]
    beta: ClassVar[float] = 1.0
    ranks_only = True

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        scores = self.inner().score(probs, reduction)  # [N], >= 0 for every uncertainty heuristic
        tiny = torch.finfo(scores.dtype).tiny
        gumbel = -(-self._uniform(probs).to(scores.dtype).clamp_min(tiny).log()).log()  # [N], Gumbel(0, 1)
        return self.beta * scores.clamp_min(tiny).log() + gumbel


def power_sampling(cls: type[Acquisition]) -> type[Acquisition]:
    """The heuristic ``cls`` with stochastic power sampling (baal's ``PowerBALD``; Kirsch et al.,
    "Stochastic Batch Acquisition", TMLR 2023): the top K of ``log(score) + Gumbel noise`` are K
    images drawn without replacement with probability proportional to ``score`` (the Gumbel-top-k
    trick), instead of the K highest scores.

    Why: the top K of a pool of neighbouring slices or frames are often near-copies of one hard
    case, and K near-copies teach little more than one; drawing by score keeps the preference for
    uncertain images and spreads the batch. The scores a phase saves are these random keys.

    >>> power_sampling(MutualInformation).name
    'power_mi'
    """
    return type(
        f"Power{cls.__name__}",
        (_PowerSampling,),
        {"name": f"power_{cls.name}", "needs_mc": cls.needs_mc, "inner": cls, "__doc__": f"``power_{cls.name}``: {cls.name} with power sampling."},
    )
