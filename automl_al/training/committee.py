"""Committees of M models as a source of uncertainty (S3), beside MC dropout.

- ``ensemble``: M copies of one architecture, each initialised with its own seed and each trained
  on its own negative log-likelihood (the same batches in the same order, so the members differ
  by their initialisation, as in a deep ensemble with a shared data order);
- ``svgd``: the same M copies as particles of Stein variational gradient descent
  (:mod:`automl_al.training.svgd`): every step, the members' gradients are mixed through the RBF
  kernel and a repulsive term keeps them apart.

Log-likelihood (what SVGD ascends; the ensemble descends its negative): for segmentation S3's
log of the Dice term, log(1 - L_Dice) with L_Dice = 1 - 2 sum y yhat / (sum y^2 + sum yhat^2)
(:func:`dice_term`; S3's text writes "log(L_Dice)", but a log-likelihood must grow as the fit
improves, so it is the log of the Dice coefficient, 1 - L_Dice); for classification minus the
cross-entropy. The value is the batch's (no prior, no scaling to the dataset size), as S3 trains.

The committee's predictions ``[M, N, C, *S]`` (:func:`committee_probs`) follow the MC-sample
contract, so they feed :func:`automl_al.active.scoring.score_pool` one batch at a time.
S3's schedule: trained from scratch every round for a fixed number of steps, Adam, lr 1e-3
(hippocampus), batch 8 (:func:`fit_committee`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from automl_al.config import Task
from automl_al.training.svgd import stein_gradients_
from automl_al.utils import cycle_batches

CommitteeMethod = Literal["ensemble", "svgd"]
COMMITTEE_METHODS: tuple[CommitteeMethod, ...] = ("ensemble", "svgd")
DICE_SMOOTH = 1e-5  # keeps log(Dice) finite for a class absent from both target and prediction
S3_LR = 1e-3  # S3, hippocampus
_EMPTY = "the training loader yielded no batch; the labeled set is empty"


def member_seed(seed: int, member: int) -> int:
    """An independent seed per (run seed, member): no two members, or runs, share an initialisation."""
    return int(np.random.SeedSequence([seed, member]).generate_state(1)[0])


def build_committee(factory: Callable[[], nn.Module], size: int, *, seed: int) -> nn.ModuleList:
    """``size`` models from ``factory()``, member m built under :func:`member_seed` (seed, m).

    The global RNG is restored afterwards, so building a committee does not shift other draws.
    """
    if size < 1:
        raise ValueError(f"a committee needs at least one member, but got size={size}")
    members = []
    for m in range(size):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(member_seed(seed, m))
            members.append(factory())
    return nn.ModuleList(members)


def dice_term(probs: Tensor, target: Tensor, *, include_background: bool = False, smooth: float = DICE_SMOOTH) -> Tensor:
    """S3's Dice term 2 sum y yhat / (sum y^2 + sum yhat^2), per class over the batch and pixels,
    averaged over the classes: ``probs [N, C, *S]`` (softmax), ``target [N, *S]`` (class indices).

    ``include_background=False`` leaves class 0 out, as S3 does for hippocampus (its pancreas
    runs keep it); a two-class problem then scores the foreground alone.
    """
    classes = probs.shape[1]
    if target.shape != probs.shape[:1] + probs.shape[2:]:
        raise ValueError(f"target {tuple(target.shape)} does not match probs {tuple(probs.shape)} (need [N, *S] and [N, C, *S])")
    first = 0 if include_background else 1
    if first >= classes:
        raise ValueError("the Dice term without background needs at least 2 classes")
    onehot = F.one_hot(target.long(), classes).movedim(-1, 1).to(probs.dtype)  # [N, C, *S]
    dims = [0, *range(2, probs.ndim)]
    inter = (probs * onehot).sum(dims)[first:]
    denom = (onehot.square().sum(dims) + probs.square().sum(dims))[first:]
    return ((2 * inter + smooth) / (denom + smooth)).mean()


def log_likelihood(logits: Tensor, target: Tensor, *, task: Task, include_background: bool = False) -> Tensor:
    """log p(batch | theta): log Dice term (segmentation, S3) or minus the mean cross-entropy."""
    if task == "segmentation":
        return dice_term(logits.float().softmax(dim=1), target, include_background=include_background).log()
    if task == "classification":
        return -F.cross_entropy(logits.float(), target)
    raise ValueError(f"task must be 'segmentation' or 'classification', got {task!r}")


@dataclass
class CommitteeTrainer:
    """One optimiser over all members; :meth:`step` trains every member on one batch."""

    members: nn.ModuleList
    method: CommitteeMethod
    optimizer: torch.optim.Optimizer
    task: Task
    include_background: bool = False
    bandwidths: list[float] = field(default_factory=list)  # SVGD's h per step, for logging

    def __post_init__(self) -> None:
        if self.method not in COMMITTEE_METHODS:
            raise ValueError(f"committee method must be one of {', '.join(COMMITTEE_METHODS)}, but got {self.method!r}")

    def step(self, images: Tensor, targets: Tensor) -> float:
        """One update of every member; returns the members' mean negative log-likelihood before it."""
        self.optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=images.device)
        for member in self.members:
            member.train()
            nll = -log_likelihood(member(images), targets, task=self.task, include_background=self.include_background)
            nll.backward()
            total += nll.detach()
        if self.method == "svgd":
            self.bandwidths.append(stein_gradients_(list(self.members)).bandwidth)
        self.optimizer.step()
        return total.item() / len(self.members)


def fit_committee(
    members: nn.ModuleList,
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    method: CommitteeMethod,
    steps: int,
    task: Task,
    lr: float = S3_LR,
    include_background: bool = False,
    device: torch.device | str = "cpu",
) -> list[float]:
    """S3's schedule: ``steps`` Adam updates of every member, cycling ``batches`` (a loader) as
    often as needed; returns the mean negative log-likelihood of each step. Seed the loader's
    shuffling and build the members with :func:`build_committee` for a run that repeats."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, but got {steps}")
    members.to(device)
    trainer = CommitteeTrainer(members, method, torch.optim.Adam(members.parameters(), lr=lr), task, include_background)
    history = []
    for _, (images, targets) in zip(range(steps), cycle_batches(batches, _EMPTY), strict=False):
        history.append(trainer.step(images.to(device), targets.to(device)))
    return history


def committee_probs(members: Sequence[nn.Module], x: Tensor) -> Tensor:
    """Softmax of every member in eval mode: ``x [N, ...]`` -> float32 ``[M, N, C, *S]`` (the MC
    contract, member first). Each member's training/eval mode is restored afterwards."""
    modes = [m.training for m in members]
    try:
        with torch.inference_mode():
            return torch.stack([m.eval()(x).float().softmax(dim=1) for m in members])
    finally:
        for m, mode in zip(members, modes, strict=True):
            m.train(mode)


__all__ = [
    "COMMITTEE_METHODS",
    "CommitteeMethod",
    "CommitteeTrainer",
    "build_committee",
    "committee_probs",
    "dice_term",
    "fit_committee",
    "log_likelihood",
    "member_seed",
]
