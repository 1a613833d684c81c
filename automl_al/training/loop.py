"""``fit``: train for ``train.epochs``, validate every epoch, keep the best epoch's weights.

An epoch is one pass over the training set, or ``train.steps_per_epoch`` batches drawn with
replacement when that is set (see :func:`automl_al.training.loaders.train_loader`).

Per epoch the metrics ``train_loss``, ``val_loss``, ``val_<metric>`` (see
:mod:`automl_al.training.metrics`), ``lr`` (the rate used during that epoch) and ``epoch_seconds``
go to ``history``, to ``tracker.log_metrics(..., step=epoch)`` in one call, and to
``on_epoch(epoch, metrics)``. Epochs count from 1, so ``history[e - 1]`` is epoch ``e``.

The best epoch is chosen on the monitored metric (:func:`monitored_metric`: ``val_iou`` for
segmentation, ``val_balanced_accuracy`` for classification; the training loss when ``val_ds`` is
None or empty). ``train.early_stopping = P`` stops after P epochs without improvement of that metric.
At the end the model holds the best epoch's weights (also written to ``checkpoint_path``).

Reproducibility: ``fit`` reseeds Python, NumPy and torch with ``seed`` and shuffles with a
generator seeded by it; on CPU the same model init and seed give the same loss history bit for
bit. Exceptions raised by ``on_epoch`` (e.g. ``optuna.TrialPruned``) propagate unchanged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from automl_al.config import Task, TrainConfig
from automl_al.errors import AutomlAlError
from automl_al.tracking import Tracker
from automl_al.training.checkpoint import save_checkpoint
from automl_al.training.evaluate import evaluate_loader
from automl_al.training.loaders import eval_loader, train_loader
from automl_al.training.losses import build_loss
from automl_al.training.metrics import monitored_metric
from automl_al.training.optim import build_optimizer, build_scheduler, step_scheduler
from automl_al.utils import progress_bar, seed_everything, select_device

if TYPE_CHECKING:
    from tqdm import tqdm

SYNC_EVERY = 20  # batches between host syncs (progress-bar loss and the non-finite check)

EpochCallback = Callable[[int, dict[str, float]], None]


class NonFiniteLossError(AutomlAlError, RuntimeError):
    """The training loss became NaN or infinite; ``epoch`` (from 1) and ``batch`` (from 0) say where."""

    def __init__(self, epoch: int, batch: int, value: float) -> None:
        self.epoch, self.batch = epoch, batch
        super().__init__(
            f"training loss is {value} at epoch {epoch}, batch {batch}: check the images for NaN/inf, "
            "lower train.lr, or set train.amp=false"
        )


@dataclass
class FitResult:
    best_epoch: int
    best_metrics: dict[str, float]
    history: list[dict[str, float]]
    seconds: float
    epochs_run: int
    monitor: str = "val_iou"


class _Precision:
    """fp16 autocast + GradScaler on CUDA when asked; elsewhere both are transparent no-ops."""

    def __init__(self, device: torch.device, amp: bool) -> None:
        self.device_type = device.type
        self.enabled = amp and device.type == "cuda"
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.enabled)

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=torch.float16, enabled=self.enabled)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


@dataclass
class _Best:
    """The best monitored value so far and a copy of the weights of that epoch."""

    name: str
    mode: str
    epoch: int = 0
    value: float = float("nan")
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    def update(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> None:
        value = metrics[self.name]
        better = value > self.value if self.mode == "max" else value < self.value
        if self.epoch == 0 or better:
            self.epoch, self.value = epoch, value
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclass
class _Trainer:
    model: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    precision: _Precision
    device: torch.device

    def train_epoch(self, loader: DataLoader, epoch: int, bar: tqdm) -> float:
        """One pass over ``loader``; returns the sample-weighted mean loss (one host sync per SYNC_EVERY)."""
        self.model.train()
        weighted = torch.zeros(len(loader), device=self.device)  # loss x batch size, per batch
        seen = 0
        for i, (images, targets) in enumerate(loader):
            images = images.to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
            self.optimizer.zero_grad(set_to_none=True)
            with self.precision.autocast():
                loss = self.loss_fn(self.model(images), targets)
            self.precision.backward_step(loss, self.optimizer)
            weighted[i] = loss.detach() * images.shape[0]
            seen += images.shape[0]
            bar.update()
            if (i + 1) % SYNC_EVERY == 0 or i + 1 == len(loader):
                running = _check_finite(weighted[: i + 1], epoch) / seen
                bar.set_postfix(loss=f"{running:.4f}", refresh=False)
        return running

    def validate(self, loader: DataLoader, task: Task, classes: int) -> dict[str, float]:
        metrics = evaluate_loader(
            self.model, loader, task=task, classes=classes, device=self.device, loss_fn=self.loss_fn
        )
        return {f"val_{k}": v for k, v in metrics.items()}


def _check_finite(weighted: torch.Tensor, epoch: int) -> float:
    """Sum of the per-batch losses so far; raises naming the first non-finite batch."""
    total = weighted.sum().item()
    if not math.isfinite(total):
        bad = int((~torch.isfinite(weighted)).nonzero()[0])
        raise NonFiniteLossError(epoch, bad, weighted[bad].item())
    return total


def _is_empty(dataset: Dataset | None) -> bool:
    return dataset is None or len(dataset) == 0  # type: ignore[arg-type]


def fit(
    model: nn.Module,
    train_ds: Dataset,
    val_ds: Dataset | None,
    cfg: TrainConfig,
    *,
    task: Task,
    classes: int,
    seed: int = 0,
    tracker: Tracker | None = None,
    on_epoch: EpochCallback | None = None,
    checkpoint_path: Path | None = None,
    progress: bool = True,
    metric_prefix: str = "",
) -> FitResult:
    """Train ``model`` in place and leave it holding the best epoch's weights.

    ``metric_prefix`` is prepended to the names sent to ``tracker`` only (so several fits can share
    one run); ``history``, ``best_metrics`` and ``on_epoch`` use the plain names.
    """
    start = time.perf_counter()
    monitor, mode = monitored_metric(task, not _is_empty(val_ds))
    seed_everything(seed)
    device = select_device(cfg.device)
    model.to(device)
    loader = train_loader(
        train_ds, cfg.batch_size, seed=seed, device=device, num_workers=cfg.num_workers, steps=cfg.steps_per_epoch
    )
    val_loader = None if _is_empty(val_ds) else eval_loader(val_ds, cfg.batch_size, device=device, num_workers=cfg.num_workers)
    optimizer = build_optimizer(model.parameters(), cfg)
    scheduler = build_scheduler(optimizer, cfg)
    trainer = _Trainer(model, build_loss(cfg.loss, task).to(device), optimizer, _Precision(device, cfg.amp), device)
    best = _Best(monitor, mode)
    history: list[dict[str, float]] = []
    for epoch in range(1, cfg.epochs + 1):
        epoch_start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        with progress_bar(total=len(loader), desc=f"epoch {epoch}/{cfg.epochs}", leave=False, disable=not progress) as bar:
            metrics = {"train_loss": trainer.train_epoch(loader, epoch, bar)}
        if val_loader is not None:
            metrics.update(trainer.validate(val_loader, task, classes))
        metrics.update(lr=lr, epoch_seconds=time.perf_counter() - epoch_start)
        step_scheduler(scheduler, metrics["train_loss"])
        history.append(metrics)
        best.update(epoch, metrics, model)
        if tracker is not None:
            tracker.log_metrics({f"{metric_prefix}{k}": v for k, v in metrics.items()}, step=epoch)
        if on_epoch is not None:
            on_epoch(epoch, dict(metrics))
        if cfg.early_stopping is not None and epoch - best.epoch >= cfg.early_stopping:
            break
    model.load_state_dict(best.state)
    best_metrics = dict(history[best.epoch - 1])
    if checkpoint_path is not None:
        save_checkpoint(
            checkpoint_path, model, {"best_epoch": best.epoch, "monitor": monitor, "best_metrics": best_metrics}
        )
    return FitResult(best.epoch, best_metrics, history, time.perf_counter() - start, len(history), monitor)
