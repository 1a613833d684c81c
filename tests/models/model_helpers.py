"""Helpers shared by the model-layer tests (a uniquely named module: every test folder has a
conftest, so ``from conftest import`` would pick whichever folder's was imported first)."""

from __future__ import annotations

from typing import Any

import torch

from automl_al.config import ModelConfig


def model_cfg(**kw: Any) -> ModelConfig:
    """A small segmentation config (resnet18, depth 3) unless overridden."""
    return ModelConfig(**{"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, **kw})


def buffers(model: torch.nn.Module) -> dict[str, bytes]:
    """Every buffer (BatchNorm running stats and counters) as raw bytes."""
    return {name: b.detach().cpu().numpy().tobytes() for name, b in model.named_buffers()}
