"""Drop the encoder modules smp builds but never runs, such as the deep stages below ``encoder_depth`` 5.

smp 0.6 keeps a resnet18's ``layer3`` and ``layer4`` at depth 3: 10.5 M of its 11.2 M parameters, never
called, yet saved in every checkpoint (45 MB instead of 3 MB), exported to MLflow and moved to the
GPU. Which modules a forward pass calls is read off one pass of a blank image, so the rule holds for
any encoder without a per-encoder list; a dropped module is replaced by :class:`DroppedStage`, which
fails loudly if it is ever called and ignores its old weights, so checkpoints and weight files
written with the full encoder still load.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

TRACE_SIDE = 64  # px: a multiple of 32 that every smp encoder accepts at every depth


class DroppedStage(nn.Module):
    """Stands where an encoder module was that the encoder's forward pass never calls."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"encoder module {self.name!r} was dropped at build because the encoder never ran it; "
            "report this encoder: automl_al/models/stages.py traced it wrong"
        )

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        """Weights of the dropped module (full-encoder checkpoints and files) are skipped, not unexpected."""

    def extra_repr(self) -> str:
        return self.name


def _holds_tensors(module: nn.Module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def called_modules(encoder: nn.Module, in_channels: int) -> set[str]:
    """Names of the encoder's modules that one eval-mode forward pass calls, with their ancestors."""
    called: set[str] = set()
    hooks = [
        m.register_forward_pre_hook(lambda _m, _a, name=name: called.add(name))
        for name, m in encoder.named_modules()
    ]
    was_training = encoder.training
    try:
        encoder.eval()  # BatchNorm statistics stay untouched
        with torch.no_grad():
            encoder(torch.zeros(1, in_channels, TRACE_SIDE, TRACE_SIDE))
    finally:
        for hook in hooks:
            hook.remove()
        encoder.train(was_training)
    parts = [name.split(".") for name in called]
    return {".".join(p[:i]) for p in parts for i in range(len(p) + 1)}


def drop_unused_stages(encoder: nn.Module, in_channels: int) -> list[str]:
    """Replace every outermost module with weights that a forward pass never reaches; return their names.

    Nothing is dropped from an encoder that cannot run the blank trace image.

    Example:
        >>> import segmentation_models_pytorch as smp  # doctest: +SKIP
        >>> model = smp.Unet("resnet18", encoder_weights=None, encoder_depth=3,
        ...                  decoder_channels=(64, 32, 16))  # doctest: +SKIP
        >>> drop_unused_stages(model.encoder, 3)  # doctest: +SKIP
        ['layer3', 'layer4']
    """
    try:
        used = called_modules(encoder, in_channels)
    except RuntimeError:  # an encoder that cannot run a blank 64 px image keeps every module
        return []
    dropped: list[str] = []
    for name, module in list(encoder.named_modules()):
        if name in used or any(name.startswith(f"{d}.") for d in dropped) or not _holds_tensors(module):
            continue
        parent, _, attr = name.rpartition(".")
        setattr(encoder.get_submodule(parent), attr, DroppedStage(name))
        dropped.append(name)
    return dropped


__all__ = ["DroppedStage", "called_modules", "drop_unused_stages"]
