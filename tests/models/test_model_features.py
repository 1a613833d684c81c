"""``pooled_features``: one vector per image from the encoder, the same alone as in a batch."""

from __future__ import annotations

import pytest
import torch

from automl_al.config import ModelConfig
from automl_al.models import build_model, pooled_features
from model_helpers import buffers, model_cfg


@pytest.mark.parametrize(
    ("cfg", "task", "width"),
    [
        (model_cfg(), "segmentation", 128),  # resnet18's third stage at depth 3
        (ModelConfig(arch="Unet", encoder="resnet18"), "classification", 512),  # timm's pre-logits
    ],
    ids=["smp", "timm"],
)
def test_one_vector_per_image_independent_of_the_batch(cfg: ModelConfig, task: str, width: int) -> None:
    torch.manual_seed(0)
    model = build_model(cfg, task, 1, 2).eval()  # type: ignore[arg-type]
    before = buffers(model)
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        batch = pooled_features(model, x)
        alone = pooled_features(model, x[1:2])
    assert batch.shape == (3, width)
    torch.testing.assert_close(alone[0], batch[1], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(batch[0], batch[1])  # different images, different vectors
    assert buffers(model) == before  # BatchNorm statistics untouched


def test_a_model_without_an_encoder_is_refused_by_type() -> None:
    with pytest.raises(TypeError, match="cannot embed images with a Conv2d"):
        pooled_features(torch.nn.Conv2d(1, 2, 3), torch.rand(1, 1, 8, 8))
