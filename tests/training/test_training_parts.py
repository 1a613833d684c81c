"""Losses, optimizers, schedulers and loaders: the interchangeable parts that ``fit`` assembles."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import TensorDataset

from automl_al.config import TrainConfig
from automl_al.registry import UnknownNameError
from automl_al.training import LOSSES, OPTIMIZERS, SCHEDULERS, build_loss, build_optimizer, build_scheduler
from automl_al.training.loaders import eval_loader, train_loader
from automl_al.training.optim import PLATEAU_FACTOR, step_scheduler

CPU = torch.device("cpu")
TARGET = torch.tensor([[[0, 1], [1, 1]]])


def logits_for(labels: torch.Tensor, scale: float) -> torch.Tensor:
    return scale * F.one_hot(labels, 2).permute(0, 3, 1, 2).float()


def params() -> list[nn.Parameter]:
    return [nn.Parameter(torch.zeros(2))]


def test_the_config_takes_exactly_the_registered_choices() -> None:
    for key, registry in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        assert all(getattr(TrainConfig(**{key: name}), key) == name for name in registry.names())
        with pytest.raises(ValidationError, match=f"unknown {registry.kind} 'nope'; valid names: "):
            TrainConfig(**{key: "nope"})
    with pytest.raises(UnknownNameError, match="valid names: ce, dice, dice_ce, focal"):
        build_loss("lovasz", "segmentation")
    with pytest.raises(ValueError, match="already registered"):
        LOSSES.register("dice")(nn.Module)


def test_dice_is_zero_when_right_and_near_one_when_wrong() -> None:
    dice = build_loss("dice", "segmentation")
    assert dice(logits_for(TARGET, 50.0), TARGET).item() == pytest.approx(0.0, abs=1e-6)
    assert dice(logits_for(1 - TARGET, 50.0), TARGET).item() == pytest.approx(1.0, abs=1e-4)


def test_ce_and_dice_ce() -> None:
    logits = torch.randn(2, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 2, (2, 3, 3), generator=torch.Generator().manual_seed(1))
    ce = build_loss("ce", "segmentation")(logits, target)
    assert ce.item() == pytest.approx(F.cross_entropy(logits, target).item())
    dice = build_loss("dice", "segmentation")(logits, target)
    assert build_loss("dice_ce", "segmentation")(logits, target).item() == pytest.approx((dice + ce).item())
    # Uniform logits: CE of a two-class guess is log 2.
    assert build_loss("ce", "segmentation")(torch.zeros(1, 2, 2, 2), TARGET).item() == pytest.approx(0.6931, abs=1e-4)


def test_focal_down_weights_confident_pixels() -> None:
    focal = build_loss("focal", "segmentation")
    # smp scores each class one-vs-rest with a sigmoid: p = 0.5 everywhere gives (1 - 0.5)^2 log 2 per
    # pixel and class, averaged.
    assert focal(torch.zeros(1, 2, 2, 2), TARGET).item() == pytest.approx(0.25 * 0.693147, rel=1e-4)
    assert focal(logits_for(TARGET, 20.0) - 10.0, TARGET).item() < 1e-10  # confident and right: ~0


def test_classification_always_uses_cross_entropy() -> None:
    loss = build_loss("dice", "classification")
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    assert loss(logits, torch.tensor([0, 1])).item() == pytest.approx(F.cross_entropy(logits, torch.tensor([0, 1])).item())


def test_optimizers_carry_the_config() -> None:
    sgd = build_optimizer(params(), TrainConfig(optimizer="sgd", lr=0.01, momentum=0.95, weight_decay=0.01))
    group = sgd.param_groups[0]
    assert isinstance(sgd, torch.optim.SGD)
    assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]) == (0.01, 0.95, 0.01, True)
    plain = build_optimizer(params(), TrainConfig(optimizer="sgd", momentum=0.0)).param_groups[0]
    assert plain["nesterov"] is False  # torch refuses Nesterov without momentum
    adamw = build_optimizer(params(), TrainConfig(optimizer="adamw", lr=3e-4, weight_decay=0.05))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["weight_decay"] == 0.05
    assert type(build_optimizer(params(), TrainConfig())) is torch.optim.Adam


def lrs(cfg: TrainConfig, losses: list[float]) -> list[float]:
    """The learning rate used in each epoch, stepping the scheduler with the given training losses."""
    optimizer = build_optimizer(params(), cfg)
    scheduler = build_scheduler(optimizer, cfg)
    out = []
    for loss in losses:
        out.append(optimizer.param_groups[0]["lr"])
        step_scheduler(scheduler, loss)
    return out


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # no optimizer.step in this test
def test_schedulers() -> None:
    assert lrs(TrainConfig(lr=1.0, epochs=4), [1.0] * 4) == [1.0] * 4
    assert lrs(TrainConfig(lr=1.0, epochs=6, scheduler="step"), [1.0] * 6) == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    cosine = lrs(TrainConfig(lr=1.0, epochs=4, scheduler="cosine"), [1.0] * 5)
    assert cosine == pytest.approx([1.0, 0.853553, 0.5, 0.146447, 0.0], abs=1e-6)


def test_plateau_watches_the_training_loss_with_factor_point_nine() -> None:
    cfg = TrainConfig(lr=1.0, epochs=10, scheduler="plateau")  # plateau of epochs // 5 = 2 epochs
    scheduler = build_scheduler(build_optimizer(params(), cfg), cfg)
    assert isinstance(scheduler, ReduceLROnPlateau) and PLATEAU_FACTOR == 0.9
    # 0.4 twice without improvement -> x 0.9 for the next epoch; then two more flat epochs -> x 0.9 again
    losses = [1.0, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    assert lrs(cfg, losses) == pytest.approx([1, 1, 1, 1, 1, 0.9, 0.9, 0.81])
    long_cfg = TrainConfig(lr=1.0, epochs=500, scheduler="plateau")
    flat = lrs(long_cfg, [1.0] * 23)
    assert flat[20] == 1.0 and flat[21] == pytest.approx(0.9)  # seed S2: 20 flat epochs, not more


def test_train_loader_drops_only_a_last_batch_of_one() -> None:
    def sizes(n: int, batch: int) -> list[int]:
        ds = TensorDataset(torch.arange(n))
        return [len(b[0]) for b in train_loader(ds, batch, seed=0, device=CPU)]

    assert sizes(9, 4) == [4, 4]  # BatchNorm cannot train on a batch of one
    assert sizes(10, 4) == [4, 4, 2]
    assert sizes(1, 4) == [1]  # nothing else to train on
    assert sizes(3, 1) == [1, 1, 1]
    with pytest.raises(ValueError, match="training set is empty"):
        train_loader(TensorDataset(torch.arange(0)), 4, seed=0, device=CPU)


def test_train_loader_order_follows_the_seed() -> None:
    ds = TensorDataset(torch.arange(16))

    def order(seed: int) -> list[int]:
        return [int(i) for (b,) in train_loader(ds, 4, seed=seed, device=CPU) for i in b]

    torch.manual_seed(123)  # the global RNG must not matter
    first = order(0)
    torch.manual_seed(456)
    assert order(0) == first
    assert sorted(first) == list(range(16)) and first != list(range(16))
    assert order(1) != first
    loader = train_loader(ds, 4, seed=0, device=CPU)
    assert [int(i) for (b,) in loader for i in b] != [int(i) for (b,) in loader for i in b]  # reshuffled each epoch


def test_fixed_step_epochs_draw_full_batches_with_replacement() -> None:
    ds = TensorDataset(torch.arange(5))  # fewer images than one epoch's draws

    def epoch(seed: int) -> list[list[int]]:
        return [b.tolist() for (b,) in train_loader(ds, 4, seed=seed, device=CPU, steps=6)]

    first = epoch(0)
    assert [len(b) for b in first] == [4] * 6  # 6 steps of full batches, none of one sample
    drawn = [i for b in first for i in b]
    assert set(drawn) <= set(range(5)) and len(set(drawn)) > 1  # 24 draws from 5 images: more than a pass
    assert epoch(0) == first and epoch(1) != first
    assert len(train_loader(TensorDataset(torch.arange(1000)), 4, seed=0, device=CPU, steps=6)) == 6


def test_eval_loader_keeps_order_and_every_sample() -> None:
    loader = eval_loader(TensorDataset(torch.arange(9)), 4, device=CPU)
    assert [int(i) for (b,) in loader for i in b] == list(range(9))
    assert not loader.pin_memory


def test_worker_settings() -> None:
    loader = train_loader(TensorDataset(torch.arange(8)), 4, seed=0, device=torch.device("cuda"), num_workers=2)
    assert loader.persistent_workers and loader.pin_memory and loader.num_workers == 2
    assert not train_loader(TensorDataset(torch.arange(8)), 4, seed=0, device=CPU).persistent_workers
