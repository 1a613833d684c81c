"""Streaming evaluation metrics: feed batches of logits, read one dict at the end.

Segmentation (``smp.metrics``): per class ``k`` the true/false positive/negative pixel counts are
summed over the WHOLE set before dividing, i.e. smp's ``"micro"`` reduction applied per class
(a dataset-level IoU/Dice, not nnU-Net's or S1's mean of per-image scores). We pool because a set
may hold slices without foreground, where a per-image score is 0/0; pooled counts stay defined and
stable on small validation sets. ``iou``/``dice`` are the mean over foreground classes
``1..C-1`` of those per-class values (smp ``"macro"`` over the foreground columns). A class that is
absent from both targets and predictions of the whole set scores 1.0 (nothing to find, nothing
found).

Classification (scikit-learn): ``accuracy``, ``balanced_accuracy`` (mean per-class recall) and
``auroc``: binary = ROC AUC of ``p(class 1)``; multiclass = one-vs-rest macro AUC over the classes
present in the targets; NaN when the targets hold fewer than two classes.
"""

from __future__ import annotations

import math
import warnings
from typing import Protocol

import numpy as np
import torch

from automl_al.config import Task

ZERO_DIVISION = 1.0


def _check_logits(logits: torch.Tensor, classes: int) -> None:
    if logits.ndim < 2 or logits.shape[1] != classes:
        raise ValueError(
            f"model output has shape {tuple(logits.shape)} but data.classes is {classes}; "
            f"expected [N, {classes}, ...] logits (set data.classes to the model's class count)"
        )


class Meter(Protocol):
    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None: ...

    def compute(self) -> dict[str, float]: ...


class SegmentationMeter:
    """Accumulates per-class pixel counts over batches; see the module docstring for the reduction."""

    def __init__(self, classes: int) -> None:
        import segmentation_models_pytorch.metrics as smp_metrics

        self._smp = smp_metrics
        self.classes = classes
        # tp, fp, fn, tn stacked as [4, 1, C]: one "image" that is the whole set. Kept on the
        # logits' device, so validation does not wait for the host after every batch.
        self._stats: torch.Tensor | None = None

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """``logits`` [N, C, H, W], ``target`` [N, H, W] integer labels."""
        _check_logits(logits, self.classes)
        pred = logits.argmax(dim=1)
        stats = self._smp.get_stats(pred, target.long(), mode="multiclass", num_classes=self.classes)
        batch = torch.stack(stats).sum(dim=1, keepdim=True)
        self._stats = batch if self._stats is None else self._stats + batch

    def compute(self) -> dict[str, float]:
        if self._stats is None:
            raise ValueError("no batches were evaluated: the dataset is empty")
        tp, fp, fn, tn = self._stats.cpu()
        fg = slice(1, None)
        out: dict[str, float] = {}
        for name, fn_metric in (("iou", self._smp.iou_score), ("dice", self._smp.f1_score)):
            per_class = fn_metric(tp, fp, fn, tn, reduction="none", zero_division=ZERO_DIVISION)[0]
            mean_fg = fn_metric(tp[:, fg], fp[:, fg], fn[:, fg], tn[:, fg], reduction="macro", zero_division=ZERO_DIVISION)
            out[name] = float(mean_fg)
            out.update({f"{name}_{k}": float(v) for k, v in enumerate(per_class)})
        return out


class ClassificationMeter:
    """Keeps softmax probabilities and labels (small: [N, C]) and scores them with scikit-learn."""

    def __init__(self, classes: int) -> None:
        self.classes = classes
        self._probs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        """``logits`` [N, C], ``target`` [N] integer labels."""
        _check_logits(logits, self.classes)
        self._probs.append(torch.softmax(logits.float(), dim=1))
        self._targets.append(target.reshape(-1))

    def compute(self) -> dict[str, float]:
        if not self._probs:
            raise ValueError("no batches were evaluated: the dataset is empty")
        probs = torch.cat(self._probs).double().cpu().numpy()
        target = torch.cat(self._targets).cpu().numpy()
        return classification_metrics(target, probs)


def classification_metrics(target: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """``target`` [N] labels, ``probs`` [N, C] probabilities -> accuracy, balanced accuracy, AUROC."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    pred = probs.argmax(axis=1)
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected on small validation sets.
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(target, pred)
    return {
        "accuracy": float(accuracy_score(target, pred)),
        "balanced_accuracy": float(balanced),
        "auroc": _auroc(target, probs),
    }


def _auroc(target: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    present = np.unique(target)
    if len(present) < 2:
        return math.nan
    if probs.shape[1] == 2:
        return float(roc_auc_score(target, probs[:, 1]))
    onehot = (target[:, None] == present[None, :]).astype(int)
    return float(roc_auc_score(onehot, probs[:, present], average="macro"))


# The whole-set scores each task's meter computes (segmentation also gives per-class ``iou_<k>``);
# the first is the headline: it picks the best epoch and is what ``compare`` reads by default.
SUMMARY_METRICS: dict[Task, tuple[str, ...]] = {
    "segmentation": ("iou", "dice"),
    "classification": ("balanced_accuracy", "accuracy", "auroc"),
}


def make_meter(task: Task, classes: int) -> Meter:
    if task == "segmentation":
        return SegmentationMeter(classes)
    if task == "classification":
        return ClassificationMeter(classes)
    raise ValueError(f"task must be 'segmentation' or 'classification', got {task!r}")


def monitored_metric(task: Task, has_validation: bool) -> tuple[str, str]:
    """(metric name, "max" | "min") that picks the best epoch and drives early stopping.

    Segmentation: ``val_iou`` (foreground mean IoU); classification: ``val_balanced_accuracy``.
    Without a validation set both fall back to the training loss (lower is better).
    """
    if not has_validation:
        return "train_loss", "min"
    if task not in SUMMARY_METRICS:
        raise ValueError(f"task must be 'segmentation' or 'classification', got {task!r}")
    return f"val_{SUMMARY_METRICS[task][0]}", "max"
