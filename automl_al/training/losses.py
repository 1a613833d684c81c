"""Training losses from ``smp.losses``, chosen by ``train.loss``.

Segmentation models output logits ``[N, C, H, W]`` against integer masks ``[N, H, W]``, so every
segmentation loss runs in smp's ``multiclass`` mode with ``from_logits=True`` (binary problems are
two-class multiclass problems here). Classification always uses cross-entropy: ``train.loss``
only applies to segmentation, because its default ``dice_ce`` has no meaning for one label per image.
"""

from __future__ import annotations

import torch
from torch import nn

from automl_al.config import Task
from automl_al.registries import LOSSES


@LOSSES.register("dice")
class DiceLoss(nn.Module):
    """Soft Dice over all classes (smp ``DiceLoss``, multiclass, from logits)."""

    def __init__(self) -> None:
        super().__init__()
        from segmentation_models_pytorch.losses import DiceLoss as SmpDice

        self.dice = SmpDice(mode="multiclass", from_logits=True)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(logits, target)


@LOSSES.register("ce")
class CrossEntropyLoss(nn.CrossEntropyLoss):
    """Pixel-wise cross-entropy."""


@LOSSES.register("dice_ce")
class DiceCELoss(nn.Module):
    """Dice + cross-entropy with equal weights: Dice copes with small foreground, CE keeps gradients smooth."""

    def __init__(self) -> None:
        super().__init__()
        self.dice = DiceLoss()
        self.ce = nn.CrossEntropyLoss()

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(logits, target) + self.ce(logits, target)


@LOSSES.register("focal")
class FocalLoss(nn.Module):
    """Focal loss (smp ``FocalLoss``, multiclass, gamma 2): down-weights easy background pixels."""

    def __init__(self) -> None:
        super().__init__()
        from segmentation_models_pytorch.losses import FocalLoss as SmpFocal

        self.focal = SmpFocal(mode="multiclass")

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.focal(logits, target)


def build_loss(name: str, task: Task) -> nn.Module:
    """The loss for ``task``: ``LOSSES[name]`` for segmentation, cross-entropy for classification."""
    if task == "classification":
        return nn.CrossEntropyLoss()
    if task == "segmentation":
        return LOSSES.get(name)()
    raise ValueError(f"task must be 'segmentation' or 'classification', got {task!r}")
