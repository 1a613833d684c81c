"""The published EDNAS space: 46 real encoder names x 9 decoders x 6 lr x 3 batch sizes, and every
architecture the model rules allow in it really builds."""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import timm
import torch
import yaml
from torch_helpers import skip_weight_init

from automl_al.config import Config
from automl_al.search.space import SHIPPED_SPACES, apply_params, load_space

PAPER = SHIPPED_SPACES / "ednas-paper.yaml"
RAW = yaml.safe_load(PAPER.read_text())


def _exists(name: str) -> bool:
    if name.startswith("tu-"):
        return timm.is_model(name.removeprefix("tu-"))
    return name in smp.encoders.get_encoder_names()


def test_paper_space_has_the_published_shape() -> None:
    arch = RAW["architecture"]
    assert len(arch["encoder"]) == len(set(arch["encoder"])) == 46
    assert arch["arch"] == ["Unet", "UnetPlusPlus", "Linknet", "FPN", "PSPNet", "PAN", "DeepLabV3", "DeepLabV3Plus", "MAnet"]
    assert RAW["params"]["train.lr"] == [1e-4, 4e-4, 1e-5, 5e-5, 1e-6, 4e-6]
    assert RAW["params"]["train.batch_size"] == [4, 8, 16]
    assert 46 * 9 * 6 * 3 == 7452


def test_every_encoder_name_exists_in_smp_or_timm() -> None:
    missing = [n for n in RAW["architecture"]["encoder"] if not _exists(n)]
    assert not missing, f"not an smp encoder or timm model: {missing}"


def test_valid_pair_count_is_the_documented_one() -> None:
    space = load_space(PAPER)  # the real model rules; load also checks valid_architectures
    assert len(space.architectures) == RAW["valid_architectures"]
    assert f"{RAW['valid_architectures']} valid" in PAPER.read_text()
    assert space.size == RAW["valid_architectures"] * 6 * 3


def _input_side(arch: str) -> int:
    """Smallest side the rules accept at depth 5: a multiple of 32, and PAN's deepest map >= 8 px."""
    return 128 if arch == "PAN" else 32


@pytest.mark.slow
def test_every_allowed_architecture_builds() -> None:
    """Each of the 390 valid (decoder, encoder) pairs builds at the paper's depth 5 and maps a
    1-image batch to logits of its size (the smallest input the rules allow, to keep this ~1 min)."""
    from automl_al.models import build_model

    space = load_space(PAPER)
    assert len(space.architectures) == RAW["valid_architectures"]
    failures = []
    for label, values in space.architectures.items():
        cfg = apply_params(Config(), values)
        side = _input_side(cfg.model.arch)
        try:
            with skip_weight_init():
                model = build_model(cfg.model, "segmentation", 1, 2).eval()
            with torch.no_grad():
                out = model(torch.zeros(1, 1, side, side))
            if tuple(out.shape) != (1, 2, side, side):
                failures.append(f"{label}: output {tuple(out.shape)} for a {side} px input")
        except Exception as e:  # collect them all: one report lists every broken pair
            failures.append(f"{label}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)


def test_pairs_left_out_really_fail_in_smp() -> None:
    """The 8 encoders left out of the dilating decoders (4 VGG, 4 DenseNet) really fail there in
    smp itself, so the 390 are not an over-cautious rule: one of each family, past our rules."""
    for encoder in ("vgg11_bn", "densenet121"):
        with skip_weight_init(), pytest.raises(ValueError, match="dilat"):
            smp.create_model("DeepLabV3", encoder_name=encoder, encoder_weights=None, in_channels=1, classes=2)
