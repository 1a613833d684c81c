"""Optimizer and learning-rate scheduler factories, chosen by ``train.optimizer`` / ``train.scheduler``.

Schedulers step once per epoch. ``plateau`` follows seed S2: ReduceLROnPlateau on the TRAINING
loss (so it also works without a validation set), multiplying the LR by 0.9 when the loss has not
improved for ``min(20, max(1, epochs // 5))`` epochs: S2's 20 epochs for long runs, shorter for the
short runs of a search so that it can fire at all. ``step`` divides the LR by 10 every third of the
run; ``cosine`` anneals to 0 over ``train.epochs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, ReduceLROnPlateau, StepLR

from automl_al.config import TrainConfig
from automl_al.registries import OPTIMIZERS, SCHEDULERS

Scheduler = LRScheduler | ReduceLROnPlateau
OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], TrainConfig], Optimizer]
SchedulerFactory = Callable[[Optimizer, TrainConfig], Scheduler | None]

PLATEAU_FACTOR = 0.9  # seed S2: LR x 0.9 when the training loss plateaus
PLATEAU_MAX_PATIENCE = 20  # seed S2: 20 epochs


@OPTIMIZERS.register("adam")
def _adam(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("adamw")
def _adamw(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> Optimizer:
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("sgd")
def _sgd(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> Optimizer:
    # Nesterov needs a non-zero momentum; momentum 0 is plain SGD.
    return torch.optim.SGD(
        params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.momentum > 0
    )


@SCHEDULERS.register("none")
def _none(optimizer: Optimizer, cfg: TrainConfig) -> None:
    return None


@SCHEDULERS.register("cosine")
def _cosine(optimizer: Optimizer, cfg: TrainConfig) -> Scheduler:
    return CosineAnnealingLR(optimizer, T_max=cfg.epochs)


@SCHEDULERS.register("step")
def _step(optimizer: Optimizer, cfg: TrainConfig) -> Scheduler:
    return StepLR(optimizer, step_size=max(1, cfg.epochs // 3), gamma=0.1)


@SCHEDULERS.register("plateau")
def _plateau(optimizer: Optimizer, cfg: TrainConfig) -> Scheduler:
    plateau = min(PLATEAU_MAX_PATIENCE, max(1, cfg.epochs // 5))
    # torch cuts the LR after MORE than ``patience`` flat epochs; S2 (Keras) cuts after ``plateau``.
    return ReduceLROnPlateau(optimizer, mode="min", factor=PLATEAU_FACTOR, patience=plateau - 1)


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> Optimizer:
    return OPTIMIZERS.get(cfg.optimizer)(params, cfg)


def build_scheduler(optimizer: Optimizer, cfg: TrainConfig) -> Scheduler | None:
    return SCHEDULERS.get(cfg.scheduler)(optimizer, cfg)


def step_scheduler(scheduler: Scheduler | None, train_loss: float) -> None:
    """Advance one epoch; plateau schedulers watch the training loss."""
    if scheduler is None:
        return
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(train_loss)
    else:
        scheduler.step()
