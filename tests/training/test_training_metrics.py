"""Evaluation numbers against hand-computed values, via model stubs that return fixed logits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from automl_al.training import classification_metrics, evaluate, monitored_metric, predict_labels, predict_probs
from automl_al.training.metrics import SUMMARY_METRICS, make_meter


def one_hot_logits(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """[N, H, W] labels -> [N, C, H, W] logits whose argmax is ``labels``."""
    return 10.0 * torch.nn.functional.one_hot(labels, classes).permute(0, 3, 1, 2).float()


def prob_logits(p: list[list[float]]) -> torch.Tensor:
    """log-probabilities: their softmax is exactly ``p``."""
    return torch.tensor(p, dtype=torch.float64).log().float()


# Identity "model": the dataset's images ARE the logits, so predictions are fixed by hand.
STUB = nn.Identity()

TARGET = torch.tensor([[[0, 1], [1, 2]], [[0, 0], [0, 0]]])
PRED = torch.tensor([[[0, 1], [2, 2]], [[1, 0], [0, 0]]])


def test_segmentation_pools_pixel_counts_over_the_whole_set() -> None:
    # class 0: tp 4, fp 0, fn 1 -> IoU 4/5, Dice 8/9
    # class 1: tp 1, fp 1, fn 1 -> IoU 1/3, Dice 1/2
    # class 2: tp 1, fp 1, fn 0 -> IoU 1/2, Dice 2/3
    ds = TensorDataset(one_hot_logits(PRED, 3), TARGET)
    m = evaluate(STUB, ds, task="segmentation", classes=3, batch_size=1)  # two batches: counts accumulate
    assert m["iou_0"] == pytest.approx(4 / 5)
    assert m["iou_1"] == pytest.approx(1 / 3)
    assert m["iou_2"] == pytest.approx(1 / 2)
    assert m["dice_0"] == pytest.approx(8 / 9)
    assert m["dice_1"] == pytest.approx(1 / 2)
    assert m["dice_2"] == pytest.approx(2 / 3)
    assert m["iou"] == pytest.approx((1 / 3 + 1 / 2) / 2)  # foreground classes only
    assert m["dice"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert evaluate(STUB, ds, task="segmentation", classes=3, batch_size=2) == pytest.approx(m)


def test_segmentation_binary_and_a_class_absent_everywhere_scores_one() -> None:
    target = torch.tensor([[[0, 1], [1, 1]]])
    pred = torch.tensor([[[1, 1], [0, 1]]])  # fg: tp 2, fp 1, fn 1 -> IoU 2/4, Dice 4/6
    m = evaluate(STUB, TensorDataset(one_hot_logits(pred, 3), target), task="segmentation", classes=3)
    assert m["iou_1"] == pytest.approx(0.5)
    assert m["dice_1"] == pytest.approx(2 / 3)
    assert m["iou_2"] == 1.0 and m["dice_2"] == 1.0  # nothing to find, nothing found
    assert m["iou"] == pytest.approx((0.5 + 1.0) / 2)


def test_segmentation_missed_foreground_scores_zero() -> None:
    target = torch.ones(1, 2, 2, dtype=torch.long)
    m = evaluate(STUB, TensorDataset(one_hot_logits(torch.zeros_like(target), 2), target), task="segmentation", classes=2)
    assert m["iou"] == 0.0 and m["dice"] == 0.0


def test_classification_binary_hand_computed() -> None:
    p1 = [0.1, 0.9, 0.35, 0.8]
    target = torch.tensor([0, 0, 0, 1])
    ds = TensorDataset(prob_logits([[1 - p, p] for p in p1]), target)
    m = evaluate(STUB, ds, task="classification", classes=2, batch_size=3)
    assert m["accuracy"] == pytest.approx(3 / 4)  # predictions 0, 1, 0, 1
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["auroc"] == pytest.approx(2 / 3)  # positive 0.8 beats 0.1 and 0.35, not 0.9


def test_classification_multiclass_auroc_is_one_vs_rest_macro() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.6, 0.15, 0.25]])
    target = np.array([0, 1, 2, 2])
    m = classification_metrics(target, probs)
    # class 0: 0.6 vs (0.2, 0.1, 0.6 tie) -> 2.5/3; class 1: 1; class 2: (0.7, 0.25) vs (0.1, 0.3) -> 3/4
    assert m["auroc"] == pytest.approx((5 / 6 + 1 + 3 / 4) / 3)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 1 / 2) / 3)


def test_classification_auroc_uses_only_classes_present_in_the_targets() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.4, 0.5, 0.1]])
    target = np.array([0, 1, 1])  # class 2 absent
    # class 0: 0.7 vs (0.2, 0.4) -> 1; class 1: (0.3, 0.5) vs 0.2 -> 1
    assert classification_metrics(target, probs)["auroc"] == pytest.approx(1.0)


def test_classification_auroc_is_nan_with_one_class() -> None:
    m = classification_metrics(np.array([1, 1]), np.array([[0.3, 0.7], [0.6, 0.4]]))
    assert math.isnan(m["auroc"])
    assert m["accuracy"] == pytest.approx(0.5)


def test_class_count_mismatch_names_the_setting() -> None:
    ds = TensorDataset(one_hot_logits(PRED, 3), TARGET)
    with pytest.raises(ValueError, match="data.classes is 2"):
        evaluate(STUB, ds, task="segmentation", classes=2)


def test_empty_dataset_is_refused() -> None:
    empty = TensorDataset(torch.zeros(0, 2, 2, 2), torch.zeros(0, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        evaluate(STUB, empty, task="segmentation", classes=2)
    with pytest.raises(ValueError, match="empty"):
        predict_probs(STUB, empty)


def test_predict_probs_is_softmax_and_labels_its_argmax() -> None:
    logits = torch.randn(5, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    ds = TensorDataset(logits, torch.arange(5))  # (image, index): unlabeled data works too
    probs = predict_probs(STUB, ds, batch_size=2)
    assert probs.shape == (5, 3, 4, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, torch.softmax(logits, dim=1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    labels = predict_labels(STUB, ds, batch_size=2)
    assert labels.shape == (5, 4, 4) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, logits.argmax(dim=1).numpy())


def test_predict_probs_classification_shape() -> None:
    probs = predict_probs(STUB, TensorDataset(prob_logits([[0.25, 0.75], [0.9, 0.1]]), torch.zeros(2)))
    np.testing.assert_allclose(probs, [[0.25, 0.75], [0.9, 0.1]], rtol=1e-6)


def test_predict_puts_the_model_in_eval_mode() -> None:
    model = nn.Sequential(nn.Dropout(0.5))
    ds = TensorDataset(torch.ones(4, 2, 3, 3), torch.zeros(4))
    # With dropout on, some logits would be 0 or 2 and the softmax would not be uniform.
    np.testing.assert_allclose(predict_probs(model, ds), 0.5)
    assert not model.training


def test_monitored_metric() -> None:
    assert monitored_metric("segmentation", True) == ("val_iou", "max")
    assert monitored_metric("classification", True) == ("val_balanced_accuracy", "max")
    assert monitored_metric("segmentation", False) == ("train_loss", "min")
    with pytest.raises(ValueError, match="task"):
        monitored_metric("detection", True)  # type: ignore[arg-type]


@pytest.mark.parametrize("task", ["segmentation", "classification"])
def test_each_meter_computes_the_summary_metrics_compare_accepts(task: str) -> None:
    meter = make_meter(task, 2)
    target = torch.tensor([[[0, 1], [1, 0]]]) if task == "segmentation" else torch.tensor([0, 1])
    meter.update(one_hot_logits(target, 2) if task == "segmentation" else prob_logits([[0.9, 0.1], [0.2, 0.8]]), target)
    assert set(SUMMARY_METRICS[task]) <= set(meter.compute())
