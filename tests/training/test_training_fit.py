"""``fit`` end to end on tiny real models: learning, best-weight restore, early stopping, determinism,
non-finite losses, callbacks and tracking."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest
import torch
from torch.utils.data import TensorDataset

from automl_al.config import TrainConfig
from automl_al.training import NonFiniteLossError, evaluate, fit, load_checkpoint
from automl_al.training.loaders import train_loader
from training_fakes import Recorder, brightness_data, pixel_net, threshold_data, tiny_classifier, tiny_unet

TRAIN = threshold_data(32, seed=1)
VAL = threshold_data(16, seed=2)
SMALL = threshold_data(16, seed=1)


def cfg(**kw: object) -> TrainConfig:
    return TrainConfig.model_validate({"epochs": 3, "batch_size": 8, "lr": 1e-2, "device": "cpu", **kw})


def test_a_tiny_unet_learns_a_threshold_and_keeps_its_best_epoch(tmp_path: Path) -> None:
    model = tiny_unet()
    result = fit(model, TRAIN, VAL, cfg(epochs=12), task="segmentation", classes=2, progress=False,
                 checkpoint_path=tmp_path / "best.pt")
    assert result.epochs_run == 12 and len(result.history) == 12 and result.monitor == "val_iou"
    ious = [h["val_iou"] for h in result.history]
    assert result.best_epoch == ious.index(max(ious)) + 1
    assert result.best_metrics == result.history[result.best_epoch - 1]
    assert result.best_metrics["val_iou"] > 0.8
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] / 3
    # The returned model is the best epoch's model, and so is the checkpoint.
    assert evaluate(model, VAL, task="segmentation", classes=2)["iou"] == pytest.approx(result.best_metrics["val_iou"])
    restored = tiny_unet(seed=5)
    extra = load_checkpoint(tmp_path / "best.pt", restored)
    assert extra == {"best_epoch": result.best_epoch, "monitor": "val_iou", "best_metrics": result.best_metrics}
    assert evaluate(restored, VAL, task="segmentation", classes=2)["iou"] == pytest.approx(result.best_metrics["val_iou"])


def test_the_best_epoch_weights_come_back_after_later_epochs_get_worse() -> None:
    model = pixel_net()
    head = model[-1]

    def wreck_after_epoch_2(epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 2:  # from epoch 3 on the head predicts background everywhere: IoU 0
            with torch.no_grad():
                head.bias.copy_(torch.tensor([1e4, -1e4]))

    result = fit(model, TRAIN, VAL, cfg(epochs=4, lr=1e-6), task="segmentation", classes=2, progress=False,
                 on_epoch=wreck_after_epoch_2)
    assert [h["val_iou"] for h in result.history[2:]] == [0.0, 0.0]
    assert result.best_epoch in (1, 2) and result.best_metrics["val_iou"] > 0.0
    assert head.bias.abs().max() < 1e3
    assert evaluate(model, VAL, task="segmentation", classes=2)["iou"] == pytest.approx(result.best_metrics["val_iou"])


def test_early_stopping_waits_patience_epochs_without_improvement() -> None:
    torch.manual_seed(0)
    model = torch.nn.Conv2d(1, 2, 1)  # no BatchNorm: its running statistics would move the metric
    calls: list[int] = []
    # lr so small that nothing changes: epoch 1 stays best, epochs 2 and 3 do not improve -> stop.
    result = fit(model, TRAIN, VAL, cfg(epochs=10, lr=1e-12, early_stopping=2), task="segmentation", classes=2,
                 progress=False, on_epoch=lambda e, m: calls.append(e))
    assert (result.epochs_run, result.best_epoch, calls) == (3, 1, [1, 2, 3])


def test_same_seed_same_history_and_another_seed_differs() -> None:
    def losses(seed: int) -> list[tuple[float, float]]:
        result = fit(tiny_unet(), SMALL, VAL, cfg(epochs=2), task="segmentation", classes=2, seed=seed, progress=False)
        return [(h["train_loss"], h["val_loss"]) for h in result.history]

    first = losses(0)
    torch.manual_seed(99)  # fit reseeds: the caller's RNG state must not matter
    assert losses(0) == first  # bit for bit on CPU
    assert losses(1) != first


def test_steps_per_epoch_gives_a_small_set_as_many_updates_as_a_large_one() -> None:
    def updates(data: TensorDataset, **kw: object) -> int:
        model = pixel_net()
        steps = []
        model.register_forward_hook(lambda *_: steps.append(1) if model.training else None)
        fit(model, data, VAL, cfg(epochs=2, **kw), task="segmentation", classes=2, progress=False)
        return len(steps)

    assert updates(SMALL) == 2 * 2 and updates(TRAIN) == 2 * 4  # one pass: 16 / 8 and 32 / 8 batches
    assert updates(SMALL, steps_per_epoch=5) == updates(TRAIN, steps_per_epoch=5) == 2 * 5


def test_a_nan_image_raises_naming_epoch_and_batch() -> None:
    images, masks = TRAIN.tensors
    images = images.clone()
    images[13] = float("nan")
    data = TensorDataset(images, masks)
    # fit shuffles with a generator seeded by `seed`, so the same loader finds the poisoned batch.
    order = [b[0] for b in train_loader(TensorDataset(torch.arange(32)), 8, seed=3, device=torch.device("cpu"))]
    batch = next(i for i, b in enumerate(order) if 13 in b.tolist())
    with pytest.raises(NonFiniteLossError, match=f"at epoch 1, batch {batch}") as err:
        fit(pixel_net(), data, VAL, cfg(), task="segmentation", classes=2, seed=3, progress=False)
    assert (err.value.epoch, err.value.batch) == (1, batch)
    assert isinstance(err.value, RuntimeError)


def test_tracker_gets_one_batched_call_per_epoch_with_the_prefix() -> None:
    tracker = Recorder()
    epochs: list[tuple[int, dict[str, float]]] = []
    result = fit(pixel_net(), TRAIN, VAL, cfg(epochs=2, scheduler="step"), task="segmentation", classes=2, progress=False,
                 tracker=tracker, on_epoch=lambda e, m: epochs.append((e, m)), metric_prefix="phase3/")
    assert [step for _, step in tracker.calls] == [1, 2]
    keys = {"train_loss", "val_loss", "val_iou", "val_dice", "val_iou_0", "val_iou_1", "val_dice_0", "val_dice_1",
            "lr", "epoch_seconds"}
    for (logged, _), (_, seen), history in zip(tracker.calls, epochs, result.history):
        assert set(logged) == {f"phase3/{k}" for k in keys}
        assert seen == history and set(history) == keys  # callback and history use the plain names
        assert logged["phase3/val_iou"] == history["val_iou"]
        assert history["epoch_seconds"] > 0
    assert [h["lr"] for h in result.history] == pytest.approx([1e-2, 1e-3])  # the LR used in each epoch
    assert [e for e, _ in epochs] == [1, 2]


def test_amp_is_for_cuda_only() -> None:
    def history(amp: bool) -> list[dict[str, float]]:
        result = fit(pixel_net(), TRAIN, VAL, cfg(amp=amp), task="segmentation", classes=2, progress=False)
        return [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in result.history]

    assert history(True) == history(False)  # on CPU, amp=True changes nothing (no fp16 autocast there)


def test_the_training_loop_syncs_with_the_host_every_20_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = 0
    item = torch.Tensor.item

    def counting_item(self: torch.Tensor) -> object:
        nonlocal syncs
        syncs += "automl_al" in sys._getframe(1).f_code.co_filename  # ours, not torch's CPU-only calls
        return item(self)

    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    fit(pixel_net(), TRAIN, None, cfg(epochs=2, batch_size=1), task="segmentation", classes=2, progress=False)
    assert syncs == 2 * 2  # 32 batches per epoch: after batch 20 and after the last one


def test_exceptions_from_on_epoch_propagate() -> None:
    def prune(epoch: int, metrics: dict[str, float]) -> None:
        raise optuna.TrialPruned(f"pruned at {epoch}")

    with pytest.raises(optuna.TrialPruned, match="pruned at 1"):
        fit(pixel_net(), TRAIN, VAL, cfg(), task="segmentation", classes=2, progress=False, on_epoch=prune)


@pytest.mark.parametrize("val", [None, TensorDataset(torch.zeros(0, 1, 32, 32), torch.zeros(0, 32, 32).long())])
def test_without_validation_the_training_loss_picks_the_best_epoch(val: TensorDataset | None) -> None:
    result = fit(pixel_net(), TRAIN, val, cfg(), task="segmentation", classes=2, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert result.monitor == "train_loss"
    assert result.best_epoch == losses.index(min(losses)) + 1
    assert set(result.history[0]) == {"train_loss", "lr", "epoch_seconds"}


@pytest.mark.parametrize("loss", ["dice", "ce", "focal"])
def test_every_segmentation_loss_trains(loss: str) -> None:
    result = fit(pixel_net(), TRAIN, VAL, cfg(epochs=2, loss=loss, optimizer="sgd", scheduler="cosine"),
                 task="segmentation", classes=2, progress=False)
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]


def test_classification_learns_brightness() -> None:
    model = tiny_classifier()
    train, val = brightness_data(24, seed=1), brightness_data(12, seed=2)
    result = fit(model, train, val, cfg(epochs=4), task="classification", classes=2, progress=False)
    assert result.monitor == "val_balanced_accuracy"
    assert set(result.history[0]) == {"train_loss", "val_loss", "val_accuracy", "val_balanced_accuracy", "val_auroc",
                                      "lr", "epoch_seconds"}
    assert result.best_metrics["val_balanced_accuracy"] == 1.0
    assert evaluate(model, val, task="classification", classes=2)["balanced_accuracy"] == 1.0


def test_progress_bar_shows_the_loss(capsys: pytest.CaptureFixture[str]) -> None:
    fit(pixel_net(), TRAIN, None, cfg(epochs=1), task="segmentation", classes=2, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err
    fit(pixel_net(), TRAIN, None, cfg(epochs=1), task="segmentation", classes=2, progress=False)
    assert capsys.readouterr().err == ""
