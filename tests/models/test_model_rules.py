"""Compatibility rules: decided from names before any model exists, with messages naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import segmentation_models_pytorch as smp
import yaml

from automl_al.config import ModelConfig
from automl_al.models import build_model, rules
from automl_al.models.rules import IncompatibleModelError, check_compatible, is_compatible

SMP_DECODERS = [
    "Unet", "UnetPlusPlus", "MAnet", "Linknet", "FPN", "PSPNet",
    "DeepLabV3", "DeepLabV3Plus", "PAN", "UPerNet", "Segformer",
]  # fmt: skip


def test_registry_lists_the_eleven_smp_decoders() -> None:
    assert rules.list_decoders() == sorted(SMP_DECODERS)
    with pytest.raises(ValueError, match="already registered"):
        rules.DECODERS.register("Unet", rules.DECODERS.get("Unet"))


@pytest.mark.parametrize(
    ("arch", "encoder", "depth", "size", "reason"),
    [
        ("UnetPlusPlus", "mit_b0", 5, None, "Mix Transformer"),
        ("Linknet", "mit_b0", 5, None, "Mix Transformer"),
        ("FPN", "mit_b0", 4, None, "only at encoder_depth 5"),
        ("FPN", "tu-convnext_atto", 3, None, "first feature map is at stride 4"),
        ("Unet", "tu-levit_128", 5, None, "feature strides \\[16, 32, 64\\]"),
        ("DeepLabV3", "vgg11_bn", 5, None, "cannot be dilated"),
        ("DeepLabV3Plus", "densenet121", 3, None, "cannot be dilated"),
        ("PAN", "xception", 5, None, "cannot be dilated"),
        ("PAN", "tu-densenet121", 5, None, "cannot be dilated"),
        ("Unet", "resnet18", 5, 48, "multiple of 2 \\*\\* encoder_depth = 32"),
        ("PAN", "resnet18", 5, 64, "needs at least 8"),
        ("Unet", "timm-regnety_002", 5, None, "tu-regnety_002"),
        ("Unet", "resnet19", 5, None, "unknown encoder"),
        ("Unet", "tu-not_a_model", 5, None, "timm has no model"),
        ("Unett", "resnet18", 5, None, "valid names: .*UnetPlusPlus"),
    ],
)
def test_forbidden_combinations_are_explained(arch: str, encoder: str, depth: int, size: int | None, reason: str) -> None:
    assert not is_compatible(arch, encoder, encoder_depth=depth, image_size=size)
    with pytest.raises(IncompatibleModelError, match=reason):
        check_compatible(arch, encoder, encoder_depth=depth, image_size=size)


@pytest.mark.parametrize(
    ("arch", "encoder", "depth", "size"),
    [
        ("FPN", "mit_b0", 5, 64),
        ("FPN", "tu-convnext_atto", 5, 64),
        ("UnetPlusPlus", "tu-convnext_atto", 3, 64),
        ("DeepLabV3", "mit_b0", 5, 64),
        ("Linknet", "vgg11_bn", 3, 32),
        ("PAN", "resnet18", 3, 64),
        ("PAN", "resnet18", 5, 128),
        ("DeepLabV3", "tu-regnety_002", 4, (32, 48)),
        ("Segformer", "densenet121", 5, 256),
    ],
)
def test_allowed_combinations(arch: str, encoder: str, depth: int, size: int | tuple[int, int]) -> None:
    assert is_compatible(arch, encoder, encoder_depth=depth, image_size=size)


def test_refused_before_any_model_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("smp.create_model was called for a pair the rules refuse")

    monkeypatch.setattr(smp, "create_model", boom)
    with pytest.raises(IncompatibleModelError, match="UnetPlusPlus \\+ mit_b0"):
        build_model(ModelConfig(arch="UnetPlusPlus", encoder="mit_b0"), "segmentation", 1, 2)


def test_is_classifier_knows_timm_names_only() -> None:
    assert rules.is_classifier("resnet18")
    assert rules.is_classifier("mobilenetv3_small_050")
    assert not rules.is_classifier("efficientnet-b0")  # an smp encoder name, not a timm model
    assert not rules.is_classifier("tu-resnet18")


def test_rules_know_every_encoder_of_the_paper_space() -> None:
    """All 46 EDNAS encoders are real names; only the dilating decoders refuse the pooling ones."""
    space = yaml.safe_load((Path(__file__).parents[2] / "search_spaces" / "ednas-paper.yaml").read_text())["architecture"]
    assert len(space["encoder"]) == 46
    refused = {
        (arch, enc)
        for arch in space["arch"]
        for enc in space["encoder"]
        if not is_compatible(arch, enc, encoder_depth=5, image_size=256)
    }
    pooling = [e for e in space["encoder"] if e.startswith(("vgg", "densenet"))]
    assert refused == {(a, e) for a in ("DeepLabV3", "DeepLabV3Plus", "PAN") for e in pooling}
    assert len(space["arch"]) * 46 - len(refused) == 390


def test_list_encoders_hides_deprecated_names() -> None:
    names = rules.list_encoders()
    assert "resnet18" in names and "mit_b0" in names
    assert not any(n.startswith("timm-") for n in names)
