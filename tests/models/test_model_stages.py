"""Unused encoder stages are dropped at build: same outputs, fewer weights, old files still load."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from model_helpers import buffers, model_cfg
from torch import nn

from automl_al.models import build_model
from automl_al.models.stages import DroppedStage, drop_unused_stages
from automl_al.training.checkpoint import load_checkpoint, save_checkpoint


def _full_smp_model(encoder: str, depth: int) -> nn.Module:
    """The model as smp builds it, every encoder module kept (the factory's call, without the drop)."""
    import segmentation_models_pytorch as smp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return smp.create_model(
            "Unet", encoder_name=encoder, encoder_weights=None, in_channels=1, classes=2,
            encoder_depth=depth, decoder_channels=(64, 32, 16, 8, 4)[:depth],
        )  # fmt: skip


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_resnet18_at_depth_3_loses_exactly_layer3_and_layer4() -> None:
    full = _full_smp_model("resnet18", 3)
    model = build_model(model_cfg(), "segmentation", 1, 2)

    assert isinstance(model.encoder.layer3, DroppedStage) and isinstance(model.encoder.layer4, DroppedStage)
    assert not isinstance(model.encoder.layer2, DroppedStage)
    unused = _count(full.encoder.layer3) + _count(full.encoder.layer4)
    assert unused == 10_493_440  # resnet18's last two stages: 94 % of its 11.2 M encoder weights
    assert _count(model) == _count(full) - unused


def test_depth_5_keeps_every_stage() -> None:
    model = build_model(model_cfg(encoder_depth=5), "segmentation", 1, 2)
    assert not any(isinstance(m, DroppedStage) for m in model.modules())


@pytest.mark.parametrize(
    "encoder", ["resnet18", "mobilenet_v2", "efficientnet-b0", "mit_b0", "densenet121", "mobileone_s0"]
)
def test_dropped_model_computes_what_the_full_one_does(encoder: str) -> None:
    """The full model's weights (an old checkpoint's state dict) load and give identical logits."""
    full = _full_smp_model(encoder, 3)
    model = build_model(model_cfg(encoder=encoder), "segmentation", 1, 2)
    assert any(isinstance(m, DroppedStage) for m in model.modules()), f"{encoder} keeps unused stages"

    model.load_state_dict(full.state_dict())  # strict: only the dropped modules' keys are skipped

    x = torch.randn(2, 1, 64, 64)
    assert torch.equal(_logits(model, x), _logits(full, x))


def test_checkpoint_of_the_full_model_still_loads(tmp_path: Path) -> None:
    full = _full_smp_model("resnet18", 3)
    save_checkpoint(tmp_path / "old.pt", full, {"phase": 2})
    model = build_model(model_cfg(), "segmentation", 1, 2)

    assert load_checkpoint(tmp_path / "old.pt", model) == {"phase": 2}
    x = torch.randn(1, 1, 32, 32)
    assert torch.equal(_logits(model, x), _logits(full, x))
    save_checkpoint(tmp_path / "new.pt", model)
    assert (tmp_path / "new.pt").stat().st_size < (tmp_path / "old.pt").stat().st_size / 5


def test_trace_leaves_batchnorm_statistics_and_mode_alone() -> None:
    encoder = _full_smp_model("resnet18", 3).encoder.train()
    kept = {k: v for k, v in buffers(encoder).items() if not k.startswith(("layer3.", "layer4."))}

    assert drop_unused_stages(encoder, 1) == ["layer3", "layer4"]

    assert buffers(encoder) == kept
    assert encoder.training


def test_a_dropped_stage_refuses_to_run_and_names_itself() -> None:
    with pytest.raises(RuntimeError, match="'layer3' was dropped at build"):
        DroppedStage("layer3")(torch.zeros(1))


def test_encoder_that_cannot_run_the_trace_keeps_everything() -> None:
    encoder = nn.Sequential(nn.Conv2d(1, 1, kernel_size=65))  # larger than the 64 px trace image
    assert drop_unused_stages(encoder, 1) == []
    assert isinstance(encoder[0], nn.Conv2d)
