"""Seed S2's optimisation: SGD with Nesterov momentum 0.95, weight decay 1e-2, LR 1e-2, and the LR
times 0.9 whenever the training loss has plateaued for 20 epochs.

"Plateaued for 20 epochs" is read as 20 consecutive epochs without a new best training loss: the
LR drops right after the 20th. torch's ReduceLROnPlateau drops it when the count of non-improving
epochs EXCEEDS ``patience``, so ``patience = 20 - 1`` (the same rule as ``train.scheduler:
plateau``, which shortens the 20 for short runs; this preset does not). The counter restarts after
each drop (cooldown 0), so a loss that stays flat drops the LR every 20 epochs. "Improving" is
torch's default: lower than the best by more than a relative 1e-4 (S2 names no threshold).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

from automl_al.training.optim import PLATEAU_FACTOR, PLATEAU_MAX_PATIENCE

S2_LR = 1e-2
S2_MOMENTUM = 0.95
S2_WEIGHT_DECAY = 1e-2
S2_PLATEAU_EPOCHS = PLATEAU_MAX_PATIENCE  # 20

S2_TRAIN: dict[str, Any] = {
    "optimizer": "sgd",  # Nesterov whenever momentum > 0 (training.optim)
    "lr": S2_LR,
    "momentum": S2_MOMENTUM,
    "weight_decay": S2_WEIGHT_DECAY,
    "scheduler": "plateau",
    "loss": "ce",
}
"""The same choices as ``train`` config values, for a preset that fills a config."""


def s2_optimizer(params: Iterable[torch.nn.Parameter]) -> torch.optim.SGD:
    return torch.optim.SGD(params, lr=S2_LR, momentum=S2_MOMENTUM, weight_decay=S2_WEIGHT_DECAY, nesterov=True)


def s2_scheduler(optimizer: torch.optim.Optimizer, plateau_epochs: int = S2_PLATEAU_EPOCHS) -> ReduceLROnPlateau:
    """Step it once per epoch with the epoch's mean TRAINING loss (``optim.step_scheduler``)."""
    if plateau_epochs < 1:
        raise ValueError(f"plateau_epochs must be >= 1, but got {plateau_epochs}")
    return ReduceLROnPlateau(optimizer, mode="min", factor=PLATEAU_FACTOR, patience=plateau_epochs - 1)


__all__ = ["S2_LR", "S2_MOMENTUM", "S2_PLATEAU_EPOCHS", "S2_TRAIN", "S2_WEIGHT_DECAY", "s2_optimizer", "s2_scheduler"]
