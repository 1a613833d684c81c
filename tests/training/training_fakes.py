"""Tiny models, data and fakes for the training-layer tests: 32 px, depth-3 encoders, a few dozen samples."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset


def tiny_unet(seed: int = 0, classes: int = 2) -> nn.Module:
    """Unet + resnet18 cut to depth 3, random init (never downloads weights); same seed, same weights."""
    import segmentation_models_pytorch as smp

    torch.manual_seed(seed)
    return smp.Unet(
        "resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=1, classes=classes
    )


def pixel_net(seed: int = 0, classes: int = 2) -> nn.Module:
    """A two-layer conv net with BatchNorm: the cheapest segmentation model with train/eval behaviour."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, classes, 1))


def tiny_classifier(seed: int = 0, classes: int = 2) -> nn.Module:
    """timm's ``test_resnet`` (0.4 M parameters, made for tests) with one input channel, random init."""
    import timm

    torch.manual_seed(seed)
    return timm.create_model("test_resnet", pretrained=False, num_classes=classes, in_chans=1)


def threshold_data(n: int, seed: int) -> TensorDataset:
    """Smooth random 32 px images (bilinear from 4x4 noise) with mask = image > 0.5: learnable in seconds."""
    g = torch.Generator().manual_seed(seed)
    images = F.interpolate(torch.rand(n, 1, 4, 4, generator=g), size=32, mode="bilinear")
    return TensorDataset(images, (images[:, 0] > 0.5).long())


def brightness_data(n: int, seed: int) -> TensorDataset:
    """Half dark (label 0), half bright (label 1) noisy 32 px images, interleaved."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = 0.2 + 0.6 * labels.view(-1, 1, 1, 1) + 0.1 * torch.randn(n, 1, 32, 32, generator=g)
    return TensorDataset(images.float(), labels)


class Recorder:
    """A Tracker stand-in that keeps every ``log_metrics`` call."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, float], int | None]] = []

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((dict(metrics), step))
