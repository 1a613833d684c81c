"""Encoder weights: local files round-trip exactly; named weights fail fast and say how to fix."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
from model_helpers import model_cfg
from huggingface_hub import constants
from safetensors.torch import save_file

from automl_al.config import ModelConfig
from automl_al.models import WeightsLoadError, WeightsUnavailableError, build_model, check_pretrained, check_weights_file


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_encoder_file_round_trip(tmp_path: Path, suffix: str) -> None:
    source = build_model(model_cfg(), "segmentation", 1, 2)
    path = tmp_path / f"encoder{suffix}"
    state = {k: v.contiguous() for k, v in source.encoder.state_dict().items()}
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))

    model = build_model(model_cfg(encoder_weights=str(path)), "segmentation", 1, 2)

    loaded = model.encoder.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_full_encoder_file_fits_an_encoder_with_dropped_stages(tmp_path: Path) -> None:
    """A file of all resnet18 stages (as pretrained files are) loads at depth 3, where two are dropped."""
    source = build_model(model_cfg(encoder_depth=5), "segmentation", 1, 2)
    path = tmp_path / "resnet18-full.pth"
    torch.save(source.encoder.state_dict(), path)

    model = build_model(model_cfg(encoder_weights=str(path)), "segmentation", 1, 2)

    assert torch.equal(model.encoder.layer2[1].conv2.weight, source.encoder.layer2[1].conv2.weight)


def test_classifier_file_loads_all_but_the_classifier(tmp_path: Path) -> None:
    source = build_model(ModelConfig(encoder="resnet18"), "classification", 1, 10)  # a 10-class head
    path = tmp_path / "resnet18.pt"
    torch.save({"state_dict": source.state_dict()}, path)
    model = build_model(ModelConfig(encoder="resnet18", encoder_weights=str(path)), "classification", 1, 3)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 3


def test_mismatched_file_lists_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "wrong.pth"
    torch.save({"conv1.weight": torch.zeros(64, 1, 7, 7), "surplus.bias": torch.zeros(1)}, path)
    with pytest.raises(WeightsLoadError, match="missing keys \\['bn1.weight', .*unexpected keys \\['surplus.bias'\\]"):
        build_model(model_cfg(encoder_weights=str(path)), "segmentation", 1, 2)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WeightsLoadError, match="nowhere.pth does not exist"):
        build_model(model_cfg(encoder_weights=str(tmp_path / "nowhere.pth")), "segmentation", 1, 2)


def test_relative_missing_file_says_where_it_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsLoadError, match=f"encoder.pth does not exist .*beside the config, then in {tmp_path}"):
        check_weights_file("weights/encoder.pth")
    check_weights_file(None)
    check_weights_file("imagenet")  # a named set: the search checks it per encoder, in each trial


def test_check_pretrained_builds_only_when_weights_are_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv1.weight": torch.zeros(64, 1, 7, 7)}, wrong)
    with pytest.raises(WeightsLoadError, match="does not fit"):
        check_pretrained(model_cfg(encoder_weights=str(wrong)), "segmentation", 1, 2)

    import automl_al.models.factory as factory

    built: list[object] = []
    monkeypatch.setattr(factory, "build_model", lambda *args, **kwargs: built.append(args))
    check_pretrained(model_cfg(), "segmentation", 1, 2)
    assert built == []  # random initialisation: nothing to check, no model built


@pytest.mark.parametrize(
    ("cfg", "task"),
    [
        (model_cfg(encoder_weights="imagenet"), "segmentation"),
        (ModelConfig(encoder="resnet18", encoder_weights="imagenet"), "classification"),
    ],
)
def test_named_weights_absent_from_cache_fail_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: ModelConfig, task: str
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # offline even when the caller is not
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.monotonic()
    with pytest.raises(WeightsUnavailableError) as info:
        build_model(cfg, task, 1, 2)  # type: ignore[arg-type]
    assert time.monotonic() - start < 15  # no hub retries (they take 23-46 s here)
    message = str(info.value)
    assert "'imagenet'" in message and "'resnet18'" in message
    assert str(tmp_path / "hf") in message and str(tmp_path / "torch") in message
    assert ".safetensors" in message and "null" in message
    assert "HF_HUB_OFFLINE" not in os.environ and constants.HF_HUB_OFFLINE is False
