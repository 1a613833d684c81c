"""Shared helpers for the model-layer tests: tiny configs, few threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from automl_al.config import ModelConfig


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and OpenMP spinning beside other busy processes
    (parallel test runs on 2 cores) slows them 50-fold; restore the caller's setting after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model_cfg(**kw: Any) -> ModelConfig:
    """A small segmentation config (resnet18, depth 3) unless overridden."""
    return ModelConfig(**{"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3, **kw})


def buffers(model: torch.nn.Module) -> dict[str, bytes]:
    """Every buffer (BatchNorm running stats and counters) as raw bytes."""
    return {name: b.detach().cpu().numpy().tobytes() for name, b in model.named_buffers()}
