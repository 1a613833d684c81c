"""build_model contract: every allowed pair gives logits at input resolution; classifiers give [N, C].

One parametrisation (smp style) covers the decoders; the full encoder x decoder x depth matrix, where
the rules must predict build success exactly, is the slow contract test at the bottom.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from model_helpers import model_cfg
from torch_helpers import skip_weight_init

from automl_al.config import ModelConfig
from automl_al.models import build_model, model_summary, rules
from automl_al.models.rules import IncompatibleModelError

FAST_PAIRS = [
    *[(arch, "resnet18", 3) for arch in rules.list_decoders()],
    ("Unet", "mobilenet_v2", 4),
    ("DeepLabV3Plus", "mobilenet_v2", 3),
    ("FPN", "efficientnet-b0", 4),
    ("PSPNet", "tu-regnety_002", 5),
    ("UPerNet", "tu-regnety_002", 4),
    ("Segformer", "mit_b0", 5),
    ("FPN", "mit_b0", 5),
    ("Linknet", "vgg11_bn", 3),
]


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize(("arch", "encoder", "depth"), FAST_PAIRS)
def test_allowed_pair_builds_logits_at_input_resolution(arch: str, encoder: str, depth: int) -> None:
    assert rules.is_compatible(arch, encoder, encoder_depth=depth, image_size=64)
    model = build_model(model_cfg(arch=arch, encoder=encoder, encoder_depth=depth), "segmentation", 1, 2)
    assert _logits(model, torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)


def test_channels_and_classes_follow_the_data() -> None:
    model = build_model(model_cfg(arch="FPN"), "segmentation", 3, 5)
    assert _logits(model, torch.zeros(2, 3, 32, 48)).shape == (2, 5, 32, 48)


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small_050", "efficientnet_b0"])
def test_classifier_is_the_named_timm_model(name: str) -> None:
    model = build_model(ModelConfig(arch="timm", encoder=name), "classification", 1, 3)
    assert model.default_cfg["architecture"] == name
    assert _logits(model, torch.zeros(2, 1, 32, 32)).shape == (2, 3)


def test_unknown_classifier_and_task_are_refused() -> None:
    with pytest.raises(IncompatibleModelError, match="not a timm model name"):
        build_model(ModelConfig(encoder="efficientnet-b0"), "classification", 1, 2)
    with pytest.raises(ValueError, match="valid: segmentation, classification"):
        build_model(model_cfg(), "detection", 1, 2)  # type: ignore[arg-type]


def test_model_summary_counts_parameters_by_hand() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Dropout2d(0.5))
    model[0].bias.requires_grad_(False)
    assert model_summary(model) == {
        "params": 1 * 4 * 9 + 4,
        "trainable_params": 36,
        "mc_dropout_layers": 0,
        "class": "Sequential",
    }


# A representative encoder of each kind smp treats differently: plain CNNs, depthwise, timm
# universal (traditional and transformer-style strides), Mix Transformer, pooling encoders.
CONTRACT_ENCODERS = [
    "resnet18", "mobilenet_v2", "efficientnet-b0", "tu-regnety_002", "mit_b0", "vgg11_bn",
    "densenet121", "dpn68", "tu-skresnet18", "tu-resnest14d", "xception", "tu-densenet121",
    "tu-convnext_atto", "mobileone_s0",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("encoder", CONTRACT_ENCODERS)
def test_rules_predict_build_success_exactly(encoder: str) -> None:
    """For every decoder, depth 3..5 and sizes 32 / 64 px: allowed <=> builds and gives [1, 2, H, W]."""
    wrong = []
    for arch in rules.list_decoders():
        for depth in (3, 4, 5):
            try:
                with warnings.catch_warnings(), skip_weight_init():  # shapes, not values, are checked
                    warnings.simplefilter("ignore")
                    model = build_model(model_cfg(arch=arch, encoder=encoder, encoder_depth=depth), "segmentation", 1, 2)
            except Exception:  # any failure counts: the rules must have refused it
                model = None
            for size in (32, 64):
                allowed = rules.is_compatible(arch, encoder, encoder_depth=depth, image_size=size)
                try:
                    works = model is not None and _logits(model, torch.zeros(1, 1, size, size)).shape == (1, 2, size, size)
                except Exception:
                    works = False
                if works != allowed:
                    wrong.append(f"{arch}+{encoder} depth {depth} {size}px: rules {allowed}, built {works}")
    assert not wrong, "\n".join(wrong)
