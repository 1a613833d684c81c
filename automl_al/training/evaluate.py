"""Inference: metrics on a labeled dataset, softmax probabilities and hard labels on any dataset.

Datasets yield ``(image [C, H, W], target)``; prediction uses only the image, so an unlabeled
dataset (``(image, index)``) works too. The model is put in eval mode (BatchNorm frozen, dropout
off) and run under ``torch.inference_mode``. ``device=None`` means the model's current device.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from automl_al.config import Task
from automl_al.training.loaders import eval_loader
from automl_al.training.metrics import make_meter


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter or buffer; CPU for a model without either."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _prepare(model: nn.Module, device: torch.device | str | None) -> torch.device:
    device = torch.device(device) if device is not None else model_device(model)
    model.to(device).eval()
    return device


def _logits(model: nn.Module, loader: DataLoader, device: torch.device) -> Iterator[torch.Tensor]:
    with torch.inference_mode():
        for batch in loader:
            yield model(batch[0].to(device, non_blocking=True))


def evaluate_loader(
    model: nn.Module,
    loader: DataLoader,
    *,
    task: Task,
    classes: int,
    device: torch.device,
    loss_fn: nn.Module | None = None,
) -> dict[str, float]:
    """Metrics over every batch of ``loader`` (see :mod:`automl_al.training.metrics`), plus the
    sample-weighted mean ``loss`` when ``loss_fn`` is given. The model must already be on ``device``."""
    meter = make_meter(task, classes)
    model.eval()
    with torch.inference_mode():
        loss_sum = torch.zeros((), device=device)
        seen = 0
        for images, targets in loader:
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            logits = model(images)
            meter.update(logits, targets)
            if loss_fn is not None:
                loss_sum += loss_fn(logits, targets) * images.shape[0]
            seen += images.shape[0]
    if seen == 0:
        raise ValueError("cannot evaluate an empty dataset")
    metrics = meter.compute()
    if loss_fn is not None:
        metrics["loss"] = loss_sum.item() / seen
    return metrics


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    task: Task,
    classes: int,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Segmentation: ``iou``, ``dice`` (foreground means), ``iou_<k>``, ``dice_<k>``;
    classification: ``accuracy``, ``balanced_accuracy``, ``auroc``."""
    device = _prepare(model, device)
    loader = eval_loader(dataset, batch_size, device=device)
    return evaluate_loader(model, loader, task=task, classes=classes, device=device)


def predict_probs(
    model: nn.Module, dataset: Dataset, *, batch_size: int = 16, device: torch.device | str | None = None
) -> np.ndarray:
    """Softmax probabilities, float32 ``[N, C, H, W]`` (segmentation) or ``[N, C]`` (classification)."""
    device = _prepare(model, device)
    loader = eval_loader(dataset, batch_size, device=device)
    chunks = [torch.softmax(logits.float(), dim=1).cpu() for logits in _logits(model, loader, device)]
    return _concat(chunks, dataset).numpy()


def predict_labels(
    model: nn.Module, dataset: Dataset, *, batch_size: int = 16, device: torch.device | str | None = None
) -> np.ndarray:
    """Most probable class, int64 ``[N, H, W]`` or ``[N]`` (argmax of the logits = argmax of softmax)."""
    device = _prepare(model, device)
    loader = eval_loader(dataset, batch_size, device=device)
    chunks = [logits.argmax(dim=1).cpu() for logits in _logits(model, loader, device)]
    return _concat(chunks, dataset).numpy()


def _concat(chunks: list[torch.Tensor], dataset: Dataset) -> torch.Tensor:
    if not chunks:
        raise ValueError(f"cannot predict on an empty dataset ({type(dataset).__name__} of length 0)")
    return torch.cat(chunks)

