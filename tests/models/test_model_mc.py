"""MC-dropout sampling: the fast paths equal the naive whole-network loop mask for mask, only dropout
is stochastic, and BatchNorm statistics are never touched."""

from __future__ import annotations

import copy

import pytest
import torch
from model_helpers import buffers, model_cfg
from torch import nn

from automl_al.config import ModelConfig
from automl_al.models import MCDropoutError, build_model, mc_dropout_mode, mc_probs, verify_mc_dropout
from automl_al.models.mc import sampling_path

T = 5


def naive_mc(model: nn.Module, x: torch.Tensor, t: int, seed: int) -> torch.Tensor:
    """The reference: T full forward passes in MC mode, global RNG seeded like mc_probs seeds it."""
    torch.manual_seed(seed)
    with mc_dropout_mode(model), torch.no_grad():
        return torch.stack([torch.softmax(model(x), dim=1) for _ in range(t)])


def trained_bn(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """One train-mode forward so that BatchNorm running stats are not their defaults."""
    model.train()
    with torch.no_grad():
        model(x)
    return model


def count_calls(module: nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *args: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize(
    ("cfg", "path", "shared_part"),
    [
        (model_cfg(dropout="head", dropout_rate=0.5), "head", "decoder"),
        (model_cfg(dropout="decoder", dropout_rate=0.3), "decoder", "encoder"),
        (model_cfg(arch="FPN", dropout="decoder", dropout_rate=0.3), "decoder", "encoder"),
    ],
    ids=["unet-head", "unet-decoder", "fpn-decoder"],
)
def test_segmentation_fast_path_equals_naive_loop(cfg: ModelConfig, path: str, shared_part: str) -> None:
    x = torch.randn(2, 1, 32, 32)
    model = trained_bn(build_model(cfg, "segmentation", 1, 3), torch.randn(4, 1, 32, 32))
    assert sampling_path(model) == path
    before = buffers(model)
    calls = count_calls(getattr(model, shared_part))

    fast = mc_probs(model, x, T, generator_seed=7)

    assert calls[0] == 1  # the deterministic part ran once for T samples
    assert buffers(model) == before  # BatchNorm running stats byte-identical
    assert model.training  # the caller's mode is restored
    assert fast.shape == (T, 2, 3, 32, 32)
    torch.testing.assert_close(fast.sum(dim=2), torch.ones(T, 2, 32, 32))
    assert not torch.equal(fast[0], fast[1])  # the samples really differ
    torch.testing.assert_close(fast, naive_mc(model, x, T, seed=7), rtol=1e-5, atol=1e-6)
    assert buffers(model) == before


def test_classifier_head_equals_naive_loop() -> None:
    model = build_model(ModelConfig(encoder="resnet18", dropout="head", dropout_rate=0.5), "classification", 1, 4)
    model = trained_bn(model, torch.randn(4, 1, 32, 32))
    x = torch.randn(3, 1, 32, 32)
    before = buffers(model)
    calls = count_calls(model.layer1)

    fast = mc_probs(model, x, T, generator_seed=1)

    assert sampling_path(model) == "classifier" and calls[0] == 1
    assert fast.shape == (T, 3, 4)
    torch.testing.assert_close(fast, naive_mc(model, x, T, seed=1), rtol=1e-5, atol=1e-6)
    assert buffers(model) == before


def test_unknown_model_falls_back_to_naive_loop() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Dropout2d(0.5), nn.Conv2d(4, 2, 1))
    x = torch.randn(2, 1, 8, 8)
    before = buffers(model)
    assert sampling_path(model) == "naive"
    torch.testing.assert_close(mc_probs(model, x, T, generator_seed=3), naive_mc(model, x, T, seed=3))
    assert buffers(model) == before


def test_seed_reproduces_masks_without_touching_global_rng() -> None:
    model = build_model(model_cfg(dropout="head", dropout_rate=0.5), "segmentation", 1, 2)
    x = torch.randn(1, 1, 32, 32)
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    first = mc_probs(model, x, 3, generator_seed=11)
    assert torch.equal(torch.rand(3), expected_next)
    assert torch.equal(mc_probs(model, x, 3, generator_seed=11), first)
    assert not torch.equal(mc_probs(model, x, 3, generator_seed=12), first)


def test_mc_mode_switches_only_dropout_and_restores_modes() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Dropout(0.1))
    model.train()
    model[1].eval()
    with mc_dropout_mode(model):
        assert [m.training for m in model] == [False, False, True]
    assert [model.training, *(m.training for m in model)] == [True, True, False, True]


def test_verify_refuses_a_model_without_dropout() -> None:
    model = build_model(model_cfg(dropout="none"), "segmentation", 1, 2)
    with pytest.raises(MCDropoutError, match="model.dropout: head or decoder"):
        verify_mc_dropout(model, torch.randn(1, 1, 32, 32))


def test_verify_catches_dropout_that_changes_nothing() -> None:
    """Dropout before a head whose weights are zero: every pass gives the bias, silently identical."""
    model = build_model(model_cfg(dropout="head", dropout_rate=0.5), "segmentation", 1, 2)
    nn.init.zeros_(model.segmentation_head[0].weight)
    with pytest.raises(MCDropoutError, match="identical"):
        verify_mc_dropout(model, torch.randn(1, 1, 32, 32))


def test_verify_accepts_a_working_twin_and_its_deep_copy() -> None:
    model = build_model(model_cfg(dropout="decoder"), "segmentation", 1, 2)
    x = torch.randn(1, 1, 32, 32)
    verify_mc_dropout(model, x)
    twin = copy.deepcopy(model)
    for m in model.modules():  # the copy's hooks must use the copy's own dropout modules
        if isinstance(m, nn.Dropout2d):
            m.p = 0.0
    verify_mc_dropout(twin, x)


def test_rejects_non_positive_t() -> None:
    model = nn.Sequential(nn.Dropout(0.5))
    with pytest.raises(ValueError, match="T must be >= 1"):
        mc_probs(model, torch.randn(1, 2), 0)


@pytest.mark.parametrize("arch", ["Unet", "PAN"], ids=["unet", "pan-upsampling-head"])
def test_channel_dropout_head_skips_the_head_conv_and_equals_naive_loop(arch: str) -> None:
    """Dropout2d before the head's conv: samples are sums of per-channel responses (the conv module
    itself never runs), drawn with the same masks as the loop; PAN's head upsamples after the conv."""
    model = build_model(model_cfg(arch=arch, dropout="head", dropout_rate=0.5), "segmentation", 1, 3)
    model = trained_bn(model, torch.randn(4, 1, 64, 64))
    x = torch.randn(2, 1, 64, 64)
    head_conv_calls = count_calls(model.segmentation_head[0])

    fast = mc_probs(model, x, T, generator_seed=5)

    assert head_conv_calls[0] == 0
    assert fast.shape == (T, 2, 3, 64, 64)
    assert not torch.equal(fast[0], fast[1])
    torch.testing.assert_close(fast, naive_mc(model, x, T, seed=5), rtol=1e-5, atol=1e-6)
