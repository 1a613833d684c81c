"""S2's pixels + metadata classifier: shapes, the metadata branch, and learning from metadata alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from automl_al.config import ModelConfig
from automl_al.models.dropout import DROPOUT_NAME
from automl_al.models.metadata import (
    HIDDEN,
    MetadataClassifier,
    build_metadata_classifier,
)

TINY = "test_resnet"  # timm's own tiny test network: the same code path as resnet18, seconds to train


def linears(model: MetadataClassifier) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in (*model.head, model.classifier) if isinstance(m, nn.Linear)]


def test_default_resnet18_shapes_and_head() -> None:
    model = build_metadata_classifier(ModelConfig(), in_channels=1, classes=2, metadata_dim=13)
    assert HIDDEN == (128, 56)
    assert linears(model) == [(512 + 13, 128), (128, 56), (56, 2)]  # resnet18 pools to 512 features
    assert [type(m) for m in model.head] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    model.eval()
    out = model(torch.randn(3, 1, 32, 32), torch.rand(3, 13))
    assert out.shape == (3, 2)
    assert model.embed(torch.randn(3, 1, 32, 32), torch.rand(3, 13)).shape == (3, 56)


def test_metadata_off_is_the_same_head_without_the_input() -> None:
    model = build_metadata_classifier(ModelConfig(encoder=TINY), in_channels=1, classes=3, metadata_dim=0)
    features = model.encoder.num_features
    assert linears(model) == [(features, 128), (128, 56), (56, 3)]
    model.eval()
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(model(x), model(x, torch.zeros(2, 0)))  # an empty metadata batch is "none"
    with pytest.raises(ValueError, match="built without metadata.*metadata_dim=4"):
        model(x, torch.rand(2, 4))


def test_metadata_changes_the_output() -> None:
    torch.manual_seed(0)
    model = build_metadata_classifier(ModelConfig(encoder=TINY), in_channels=1, classes=2, metadata_dim=4).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        a, b = model(x, torch.zeros(2, 4)), model(x, torch.ones(2, 4))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("meta", [None, torch.rand(2, 3), torch.rand(3, 4), torch.rand(2, 4, 1)])
def test_wrong_metadata_is_refused(meta: torch.Tensor | None) -> None:
    model = build_metadata_classifier(ModelConfig(encoder=TINY), in_channels=1, classes=2, metadata_dim=4)
    with pytest.raises(ValueError, match=r"takes metadata \[batch, 4\]"):
        model(torch.randn(2, 1, 32, 32), meta)


def test_head_dropout_sits_before_the_last_layer_and_keeps_parameter_names() -> None:
    plain = build_metadata_classifier(ModelConfig(encoder=TINY), in_channels=1, classes=2, metadata_dim=2)
    twin = build_metadata_classifier(
        ModelConfig(encoder=TINY, dropout="head", dropout_rate=0.5), in_channels=1, classes=2, metadata_dim=2
    )
    assert isinstance(getattr(twin.classifier, DROPOUT_NAME), nn.Dropout)
    assert not hasattr(plain.classifier, DROPOUT_NAME)
    twin.load_state_dict(plain.state_dict())  # the MC twin takes the deterministic model's weights
    twin.eval()
    getattr(twin.classifier, DROPOUT_NAME).train()
    x, meta = torch.randn(4, 1, 32, 32), torch.rand(4, 2)
    assert not torch.equal(twin(x, meta), twin(x, meta))


def test_negative_metadata_dim_is_refused() -> None:
    with pytest.raises(ValueError, match="metadata_dim must be >= 0"):
        MetadataClassifier(nn.Identity(), -1, 2)


def _toy(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noise images (no label in the pixels); the label only in metadata value 0 (+-1 plus noise),
    values 1 and 2 pure noise."""
    y = torch.arange(n) % 2
    x = torch.randn(n, 1, 32, 32, generator=generator)
    meta = torch.rand(n, 3, generator=generator)
    meta[:, 0] = (2 * y - 1).float() + 0.3 * torch.randn(n, generator=generator)
    return x, meta, y


def test_learns_a_label_that_only_the_metadata_carries() -> None:
    """Held-out accuracy goes from chance to >= 0.9, and flipping the informative metadata value
    flips the predictions: the model learned the label from the metadata branch. BatchNorm stays
    in eval mode (as for a frozen-statistics fine-tune), so that 32 noise images give the same
    forward pass in training and evaluation."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = build_metadata_classifier(ModelConfig(encoder=TINY), in_channels=1, classes=2, metadata_dim=3).eval()
    x, meta, y = _toy(32, g)
    x_test, meta_test, y_test = _toy(64, g)  # held out: fresh images, fresh metadata noise

    def accuracy(m: torch.Tensor) -> float:
        with torch.no_grad():
            return float((model(x_test, m).argmax(1) == y_test).float().mean())

    before = accuracy(meta_test)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(25):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x, meta), y).backward()
        optimizer.step()
    after = accuracy(meta_test)
    assert before <= 0.6 and after >= 0.9, (before, after)
    flipped = meta_test.clone()
    flipped[:, 0] = -flipped[:, 0]
    assert accuracy(flipped) <= 0.1
