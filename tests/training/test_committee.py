"""Committees (S3): seeded members, the Dice log-likelihood, ensemble and SVGD training, predictions."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from automl_al.training.committee import (
    CommitteeTrainer,
    build_committee,
    committee_probs,
    dice_term,
    fit_committee,
    log_likelihood,
)


def _tiny_segmenter() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1))


def _squares(n: int, size: int = 16, seed: int = 0) -> TensorDataset:
    """A bright square at a random place on noise; the mask is the square."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, size, size, generator=g) * 0.3
    masks = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        r, c = torch.randint(0, size - 6, (2,), generator=g).tolist()
        images[i, 0, r : r + 6, c : c + 6] += 0.7
        masks[i, r : r + 6, c : c + 6] = 1
    return TensorDataset(images, masks)


def test_members_get_their_own_seeded_initialisation_and_repeat() -> None:
    a = build_committee(_tiny_segmenter, 3, seed=0)
    b = build_committee(_tiny_segmenter, 3, seed=0)
    weights = [m[0].weight for m in a]
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
    assert all(torch.equal(x[0].weight, y[0].weight) for x, y in zip(a, b, strict=True))
    before = torch.rand(1)
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    build_committee(_tiny_segmenter, 2, seed=1)
    assert torch.equal(torch.rand(1), expected) and before.numel() == 1  # global RNG untouched


def test_dice_term_by_hand() -> None:
    # 1 image, 2 pixels, classes (bg, fg); target (fg, bg); prediction fg probs (0.8, 0.4).
    # foreground: sum y yhat = 0.8, sum y^2 = 1, sum yhat^2 = 0.64 + 0.16 = 0.8 -> 1.6 / 1.8
    probs = torch.tensor([[[0.2, 0.6], [0.8, 0.4]]])  # [N=1, C=2, P=2]
    target = torch.tensor([[1, 0]])
    fg = (1.6 + 1e-5) / (1.8 + 1e-5)
    assert dice_term(probs, target).item() == pytest.approx(fg)
    # background: sum y yhat = 0.6, sum y^2 = 1, sum yhat^2 = 0.04 + 0.36 = 0.4 -> 1.2 / 1.4
    both = (fg + (1.2 + 1e-5) / (1.4 + 1e-5)) / 2
    assert dice_term(probs, target, include_background=True).item() == pytest.approx(both)
    logits = probs.log()  # softmax(log p) = p
    assert log_likelihood(logits, target, task="segmentation").item() == pytest.approx(math.log(fg), rel=1e-5)


def test_classification_log_likelihood_is_minus_cross_entropy() -> None:
    logits, target = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    expected = -nn.functional.cross_entropy(logits, target)
    torch.testing.assert_close(log_likelihood(logits, target, task="classification"), expected)


@pytest.mark.parametrize("method", ["ensemble", "svgd"])
def test_a_two_member_segmentation_committee_learns(method: str) -> None:
    torch.manual_seed(0)
    members = build_committee(_tiny_segmenter, 2, seed=0)
    loader = DataLoader(_squares(16), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    history = fit_committee(members, loader, method=method, steps=40, task="segmentation", lr=1e-2)  # type: ignore[arg-type]
    assert len(history) == 40 and all(math.isfinite(v) for v in history)
    first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
    assert last < 0.6 * first  # -log Dice falls
    probs = committee_probs(members, _squares(3, seed=1).tensors[0])
    assert probs.shape == (2, 3, 2, 16, 16)
    torch.testing.assert_close(probs.sum(dim=2), torch.ones(2, 3, 16, 16))
    assert all(m.training for m in members)  # committee_probs restored the modes


def test_svgd_keeps_the_particles_apart_more_than_the_same_ensemble_would() -> None:
    def distance(members: nn.ModuleList) -> float:
        a, b = (torch.cat([p.detach().flatten() for p in m.parameters()]) for m in members)
        return (a - b).norm().item()

    data = _squares(8)
    distances = {}
    for method in ("ensemble", "svgd"):
        members = build_committee(_tiny_segmenter, 2, seed=3)
        batches = [tuple(data.tensors)] * 10
        fit_committee(members, batches, method=method, steps=10, task="segmentation", lr=1e-2)  # type: ignore[arg-type]
        distances[method] = distance(members)
    # Same seeds, same batches: only the kernel terms differ (members start 3.07 apart; 3.42 after
    # the ensemble's 10 steps, 3.76 after SVGD's).
    assert distances["svgd"] > distances["ensemble"] * 1.05


def test_trainer_refuses_an_unknown_method_and_an_empty_loader() -> None:
    members = build_committee(_tiny_segmenter, 2, seed=0)
    with pytest.raises(ValueError, match="ensemble, svgd"):
        CommitteeTrainer(members, "bagging", torch.optim.Adam(members.parameters()), "segmentation")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="yielded no batch"):
        fit_committee(members, [], method="svgd", steps=1, task="segmentation")


def test_svgd_trains_an_smp_unet_committee() -> None:
    from automl_al.config import ModelConfig
    from automl_al.models import build_model

    cfg = ModelConfig(arch="Unet", encoder="resnet18", encoder_depth=3)
    members = build_committee(lambda: build_model(cfg, "segmentation", 1, 2), 2, seed=0)
    data = _squares(4, size=32)
    history = fit_committee(members, [tuple(data.tensors)], method="svgd", steps=3, task="segmentation")
    assert len(history) == 3 and all(math.isfinite(v) for v in history)
    assert committee_probs(members, data.tensors[0]).shape == (2, 4, 2, 32, 32)
