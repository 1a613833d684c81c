"""Acquisitions over a committee (S3) and over augmented copies (S4), on the one tensor contract.

A committee of M members (an ``ensemble`` or ``svgd`` particles) gives ``probs [M, N, C, *S]``,
member first, exactly where MC dropout puts its T samples; N_a augmented copies of each image
(aligned back to the original's pixel grid) give ``[A, N, C, *S]`` the same way. So every heuristic
of :mod:`heuristics` works on committee samples unchanged: ``mi`` is BALD across members, ``mfe``
the entropy of the committee's mean. This module adds what S3 and S4 score with:

- ``committee_entropy`` (S3 eq. 3): the entropy of each member's prediction, summed over the
  members (and, with ``reduce_sum``, over the pixels: S3's "sum across all the 3D voxels");
- ``jsd``: the Jensen-Shannon divergence among the members, S3's baseline. S3 cites it from prior
  work without a formula; the M-distribution JSD with uniform weights is
  ``H(mean_m p_m) - mean_m H(p_m)``, which is BALD's mutual information term for term, so ``jsd``
  and ``mi`` give the same scores (a second name, kept so S3's baselines read as the paper names them);
- ``consistency`` (S4 eq. 3): the class-wise variance of the predictions over the copies, summed
  over classes; S4's ``consistency_embedding`` scales the features by it (selection.py).

Each acquisition reduces its batch to ``[B]`` scores, so scoring a pool through
:func:`automl_al.active.scoring.score_pool` never holds more than one batch of member maps.
Registration (not done here): ``register_acquisition(cls.name, lambda seed: cls())`` for each class.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from automl_al.active.acquisition import functional as F
from automl_al.active.acquisition.heuristics import Acquisition
from automl_al.active.acquisition.reductions import Reduction

_M, _C = 0, 2  # member (or copy) axis and class axis of ``probs``


def summed_entropy(probs: Tensor) -> Tensor:
    """S3's epistemic map: sum over members of -sum_c p_m,c log p_m,c, in nats. ``[M, N, C, *S] -> [N, *S]``.

    It is M times ``cfe`` (the mean over members), so it ranks like ``cfe`` at one committee size.
    """
    probs = F.check_probs(probs)
    return -torch.special.xlogy(probs, probs).sum(dim=_C).sum(dim=_M)


def jensen_shannon(probs: Tensor) -> Tensor:
    """The M-member Jensen-Shannon divergence with uniform weights, H(mean) - mean H, in nats.

    Identical to :func:`functional.mutual_information` (the same expression); for two members it is
    the usual JS(P, Q) = KL(P || A) / 2 + KL(Q || A) / 2 with A = (P + Q) / 2. ``-> [N, *S]``.
    """
    return F.mutual_information(probs)


def consistency_variance(probs: Tensor) -> Tensor:
    """S4's inconsistency: sum over classes of the variance over the A copies. ``[A, N, C, *S] -> [N, *S]``.

    S4 writes V[.] without saying which normalisation; we divide by A (population variance, as
    ``std`` does), which scales every image alike and so changes no ranking or k-center pick.
    The copies must be aligned to the original's grid (a flip's prediction flipped back).
    """
    probs = F.check_probs(probs)
    return probs.var(dim=_M, correction=0).sum(dim=1)


class _MemberMap(Acquisition):
    """A per-pixel map over the members (or copies), reduced to one score per image.

    Standalone rather than a ``heuristics._MapAcquisition`` subclass, so that these classes stay
    independent of how that private base declares its maps.
    """

    @abstractmethod
    def map(self, probs: Tensor) -> Tensor:
        """Checked ``probs [M, N, C, *S]`` -> ``[N, *S]``."""

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        return reduction(self.map(probs), probs.mean(dim=_M))


class CommitteeEntropy(_MemberMap):
    """``committee_entropy``: entropy per member summed over members (S3's epistemic score).

    Works on one member too (it is then the plain entropy), so no M >= 2 check. S3 reduces with
    ``sum`` over voxels (``active.reduction: sum``); ``mean`` ranks alike when images share a size.
    """

    name = "committee_entropy"
    needs_mc = False

    def map(self, probs: Tensor) -> Tensor:
        return summed_entropy(probs)


class JensenShannon(_MemberMap):
    """``jsd``: Jensen-Shannon divergence among committee members; equal to ``mi`` (see module doc)."""

    name = "jsd"

    def map(self, probs: Tensor) -> Tensor:
        return jensen_shannon(probs)


class ConsistencyVariance(_MemberMap):
    """``consistency``: summed class-wise variance over augmented copies (S4); needs >= 2 copies."""

    name = "consistency"

    def map(self, probs: Tensor) -> Tensor:
        return consistency_variance(probs)


__all__ = [
    "CommitteeEntropy",
    "ConsistencyVariance",
    "JensenShannon",
    "consistency_variance",
    "jensen_shannon",
    "summed_entropy",
]
