"""S2's optimisation preset: SGD Nesterov 0.95, wd 1e-2, lr 1e-2, lr x 0.9 after a 20-epoch plateau."""

from __future__ import annotations

import pytest
import torch

from automl_al.config import TrainConfig
from automl_al.training.optim import build_optimizer, build_scheduler
from automl_al.training.presets import S2_TRAIN, s2_optimizer, s2_scheduler


def _params() -> list[torch.nn.Parameter]:
    return list(torch.nn.Linear(2, 2).parameters())


def test_optimizer_is_s2s() -> None:
    (group,) = s2_optimizer(_params()).param_groups
    assert (group["lr"], group["momentum"], group["nesterov"], group["weight_decay"]) == (1e-2, 0.95, True, 1e-2)


def test_config_values_build_the_same_optimizer_and_scheduler() -> None:
    cfg = TrainConfig(**S2_TRAIN, epochs=1000)
    (ours,) = s2_optimizer(_params()).param_groups
    (configured,) = build_optimizer(_params(), cfg).param_groups
    keys = ("lr", "momentum", "nesterov", "weight_decay", "dampening")
    assert {k: ours[k] for k in keys} == {k: configured[k] for k in keys}
    scheduler = build_scheduler(torch.optim.SGD(_params(), lr=1e-2), cfg)
    reference = s2_scheduler(torch.optim.SGD(_params(), lr=1e-2))
    assert isinstance(scheduler, type(reference))
    assert (scheduler.patience, scheduler.factor) == (reference.patience, reference.factor) == (19, 0.9)


def _lrs(losses: list[float]) -> list[float]:
    """The LR after each epoch's scheduler step."""
    optimizer = s2_optimizer(_params())
    scheduler = s2_scheduler(optimizer)
    out = []
    for loss in losses:
        scheduler.step(loss)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def test_drops_right_after_the_20th_epoch_without_improvement() -> None:
    lrs = _lrs([1.0] * 45)  # epoch 1 sets the best; epochs 2..21 are 20 epochs without improvement
    assert lrs[:20] == [1e-2] * 20  # after epoch 20: only 19 flat epochs, not yet
    assert lrs[20] == pytest.approx(9e-3)  # after epoch 21: 20 flat epochs
    assert lrs[21:40] == [lrs[20]] * 19 and lrs[40] == pytest.approx(8.1e-3)  # the count restarts


def test_an_improvement_restarts_the_count() -> None:
    lrs = _lrs([1.0] * 20 + [0.5] + [0.5] * 21)  # epoch 21 improves; epochs 22..41 are flat
    assert lrs[:40] == [1e-2] * 40 and lrs[40] == pytest.approx(9e-3)


def test_a_tiny_relative_decrease_is_still_a_plateau() -> None:
    lrs = _lrs([1.0 - 1e-6 * i for i in range(21)])  # below torch's relative threshold 1e-4
    assert lrs[19] == 1e-2 and lrs[20] == pytest.approx(9e-3)


def test_plateau_epochs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="plateau_epochs must be >= 1"):
        s2_scheduler(s2_optimizer(_params()), 0)
