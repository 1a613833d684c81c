"""S2's classifier: a timm encoder on the pixels, its pooled features beside a metadata vector, then
dense layers 128 -> 56 -> classes with ReLU between (seed S2).

The encoder comes from the one factory's :func:`~automl_al.models.factory.build_classifier` (so
weights, offline hub and weight files behave as for every classifier), with its classifier removed.
Outputs are logits; softmax belongs to prediction, cross-entropy to the loss. With
``metadata_dim=0`` the same head runs on the pixels alone: the "metadata off" arm of a comparison
differs only in the metadata input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from automl_al.config import ModelConfig
from automl_al.models.dropout import place_classifier_dropout
from automl_al.models.factory import build_classifier

HIDDEN: tuple[int, ...] = (128, 56)  # S2's dense layers after the concatenation


class MetadataClassifier(nn.Module):
    """``forward(image [B, C, H, W], meta [B, M] or None) -> logits [B, classes]``.

    ``encoder`` maps images to pooled features ``[B, encoder.num_features]`` (a timm model after
    ``reset_classifier(0)``). ``classifier`` is the last linear layer, so the MC-dropout placement
    ``head`` (``place_classifier_dropout``) puts dropout right before it, as for timm classifiers.
    """

    def __init__(self, encoder: nn.Module, metadata_dim: int, classes: int, hidden: Sequence[int] = HIDDEN) -> None:
        super().__init__()
        if metadata_dim < 0:
            raise ValueError(f"metadata_dim must be >= 0 (0: metadata off), but got {metadata_dim}")
        self.encoder = encoder
        self.metadata_dim = metadata_dim
        width = int(encoder.num_features) + metadata_dim  # type: ignore[arg-type]  # timm's int attribute
        layers: list[nn.Module] = []
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU(inplace=True)]
            width = units
        self.head = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, classes)

    def embed(self, image: Tensor, meta: Tensor | None = None) -> Tensor:
        """The vector the classifier reads, ``[B, hidden[-1]]`` (pre-logits, for diversity sampling)."""
        features = self.encoder(image)  # [B, F], pooled
        if self.metadata_dim:
            if meta is None or meta.ndim != 2 or meta.shape != (features.shape[0], self.metadata_dim):
                shape = None if meta is None else tuple(meta.shape)
                raise ValueError(
                    f"this model takes metadata [batch, {self.metadata_dim}] beside the images, but got "
                    f"{shape} for a batch of {features.shape[0]}; the metadata features of the data must "
                    "match those the model was built with"
                )
            features = torch.cat([features, meta.to(features.dtype)], dim=1)
        elif meta is not None and meta.numel():
            raise ValueError(
                f"this model was built without metadata (metadata_dim 0) but got metadata of shape "
                f"{tuple(meta.shape)}; build it with metadata_dim={meta.shape[-1]} or pass none"
            )
        return self.head(features)

    def forward(self, image: Tensor, meta: Tensor | None = None) -> Tensor:
        return self.classifier(self.embed(image, meta))

    def get_classifier(self) -> nn.Module:
        return self.classifier


def build_metadata_classifier(
    cfg: ModelConfig, in_channels: int, classes: int, *, metadata_dim: int
) -> MetadataClassifier:
    """S2's model for ``cfg.encoder`` (any timm name; resnet18 by default, random init unless
    ``cfg.encoder_weights`` names weights), ``metadata_dim`` metadata values per image (0: off), and
    ``cfg.dropout`` (``head``: dropout before the last layer) in place."""
    encoder = build_classifier(cfg.model_copy(update={"dropout": "none"}), in_channels, classes)
    encoder.reset_classifier(0)  # type: ignore[operator]  # timm: keep the pooling, drop the classifier
    model = MetadataClassifier(encoder, metadata_dim, classes)
    place_classifier_dropout(model, cfg.dropout, cfg.dropout_rate)
    return model


__all__ = ["HIDDEN", "MetadataClassifier", "build_metadata_classifier"]
