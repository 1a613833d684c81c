"""Dropout placement: explicit modules where the config says, same parameter names as without."""

from __future__ import annotations

import pytest
import torch
from model_helpers import model_cfg
from torch import nn

from automl_al.config import ModelConfig
from automl_al.models import DropoutPlacementError, build_model, rules, verify_mc_dropout
from automl_al.models.dropout import dropout_modules


def test_head_dropout_sits_before_the_segmentation_head() -> None:
    model = build_model(model_cfg(dropout="head", dropout_rate=0.3), "segmentation", 1, 2)
    placed = dropout_modules(model)
    assert list(placed) == ["segmentation_head.0"]  # on the head's conv: a Sequential runs every child
    dropout = placed["segmentation_head.0"]
    assert isinstance(dropout, nn.Dropout2d) and dropout.p == 0.3
    seen: list[torch.Tensor] = []
    model.segmentation_head[0].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    model.eval()
    dropout.train()
    dropout.p = 1.0  # drops every feature channel, deterministically
    with torch.no_grad():
        logits = model(torch.randn(1, 1, 32, 32))
    assert (seen[0] == 0).all()  # the head's conv received the dropped features
    # ... and its output is not dropped again: all-zero features give the conv's bias at every pixel
    # (a dropout child of the Sequential head also ran after it, zeroing whole class channels)
    bias = model.segmentation_head[0].bias
    torch.testing.assert_close(logits, bias.view(1, -1, 1, 1).expand_as(logits))


def test_decoder_dropout_follows_every_decoder_convolution() -> None:
    model = build_model(model_cfg(dropout="decoder"), "segmentation", 1, 2)
    convs = {f"decoder.{n}" for n, m in model.decoder.named_modules() if isinstance(m, nn.Conv2d)}
    assert set(dropout_modules(model)) == convs and len(convs) == 6  # 3 blocks x 2 convs


@pytest.mark.parametrize("arch", rules.list_decoders())
def test_decoder_dropout_acts_in_every_decoder(arch: str) -> None:
    encoder, depth = ("mit_b0", 5) if arch == "Segformer" else ("resnet18", 3)
    model = build_model(model_cfg(arch=arch, encoder=encoder, encoder_depth=depth, dropout="decoder"), "segmentation", 1, 2)
    assert dropout_modules(model) and all(n.startswith("decoder.") for n in dropout_modules(model))
    verify_mc_dropout(model, torch.randn(1, 1, 64, 64))


@pytest.mark.parametrize(
    ("cfg", "task"),
    [
        (model_cfg(dropout="head"), "segmentation"),
        (model_cfg(dropout="decoder"), "segmentation"),
        (ModelConfig(encoder="mobilenetv3_small_050", dropout="head"), "classification"),
    ],
    ids=["seg-head", "seg-decoder", "cls-head"],
)
def test_twin_loads_the_deterministic_checkpoint(cfg: ModelConfig, task: str) -> None:
    """Same parameter names: the det state loads strictly and, with dropout off, predicts the same."""
    det = build_model(cfg.model_copy(update={"dropout": "none"}), task, 1, 3).eval()  # type: ignore[arg-type]
    twin = build_model(cfg, task, 1, 3).eval()  # type: ignore[arg-type]
    twin.load_state_dict(det.state_dict(), strict=True)
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(twin(x), det(x))


def test_classifier_dropout_precedes_the_classifier() -> None:
    model = build_model(ModelConfig(encoder="resnet18", dropout="head", dropout_rate=0.4), "classification", 1, 2)
    assert list(dropout_modules(model)) == ["fc"]
    assert isinstance(model.fc.mc_dropout, nn.Dropout) and model.fc.mc_dropout.p == 0.4


def test_refused_placements_say_what_to_do() -> None:
    with pytest.raises(DropoutPlacementError, match="use model.dropout: head"):
        build_model(ModelConfig(encoder="resnet18", dropout="decoder"), "classification", 1, 2)
    with pytest.raises(DropoutPlacementError, match="dropout_rate must be in \\(0, 1\\)"):
        build_model(model_cfg(dropout="head", dropout_rate=0.0), "segmentation", 1, 2)
