"""The one model factory: smp encoder-decoders for segmentation, timm models for classification.

Both MC-dropout twins (deterministic and with dropout) come from here: the same config with
``model.dropout`` set to ``head`` or ``decoder`` gives the twin whose parameter names match.
Encoder modules that never run are dropped right after smp builds them (``models/stages.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import nn

from automl_al.config import ModelConfig, Task
from automl_al.models.dropout import place_classifier_dropout, place_segmentation_dropout
from automl_al.models.rules import DECODERS, IncompatibleModelError, check_compatible, is_classifier
from automl_al.models.stages import drop_unused_stages
from automl_al.models.weights import (
    is_weight_file,
    load_weights_file,
    offline_hub,
    unavailable,
)


def build_model(
    cfg: ModelConfig, task: Task, in_channels: int, classes: int, *, pretrained: bool = True
) -> nn.Module:
    """A fresh model mapping ``[N, in_channels, H, W]`` to logits ``[N, classes, H, W]``
    (segmentation) or ``[N, classes]`` (classification), with ``cfg.dropout`` in place.

    ``pretrained=False`` skips ``cfg.encoder_weights``: for a model whose weights come from a
    checkpoint next, so that it loads where the pretrained file or cache is absent (another machine).
    """
    if not pretrained:
        cfg = cfg.model_copy(update={"encoder_weights": None})
    if task == "segmentation":
        return build_segmentation(cfg, in_channels, classes)
    if task == "classification":
        return build_classifier(cfg, in_channels, classes)
    raise ValueError(f"unknown task {task!r}; valid: segmentation, classification")


def check_pretrained(cfg: ModelConfig, task: Task, in_channels: int, classes: int) -> None:
    """Build the model once when ``cfg.encoder_weights`` is set, before data preparation, so that a
    missing file, a file that does not fit or a named set absent from the caches fails in seconds.
    Without pretrained weights there is nothing to check and nothing is built."""
    if cfg.encoder_weights is not None:
        build_model(cfg, task, in_channels, classes)


def build_segmentation(cfg: ModelConfig, in_channels: int, classes: int) -> nn.Module:
    check_compatible(cfg.arch, cfg.encoder, encoder_depth=cfg.encoder_depth)
    import segmentation_models_pytorch as smp

    spec = DECODERS.get(cfg.arch)
    weights = cfg.encoder_weights
    named: Any = None if weights is None or is_weight_file(weights) else weights
    if named is not None and cfg.encoder.startswith("tu-"):
        named = True  # smp's convention: the timm tag is part of the name ('tu-name.tag')
    kwargs = spec.kwargs(cfg.encoder_depth)
    try:
        with offline_hub(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*deprecated.*")
            model = smp.create_model(
                spec.name,
                encoder_name=cfg.encoder,
                encoder_weights=named,
                in_channels=in_channels,
                classes=classes,
                encoder_depth=cfg.encoder_depth,
                **kwargs,
            )
    except OSError as e:
        if named is None:
            raise
        raise unavailable(str(weights), cfg.encoder, e) from e
    except (ValueError, TypeError, AssertionError, KeyError) as e:
        raise IncompatibleModelError(
            f"{cfg.arch} + {cfg.encoder} (encoder_depth {cfg.encoder_depth}) passed the model rules "
            f"but smp refused it ({type(e).__name__}: {e}); pick another pair and report this "
            "combination so that automl_al/models/rules.py learns it"
        ) from e
    drop_unused_stages(model.encoder, in_channels)
    if weights is not None and named is None:
        load_weights_file(model.encoder, weights)  # full-encoder files still fit: see models/stages.py
    place_segmentation_dropout(model, cfg.dropout, cfg.dropout_rate)
    return model


def build_classifier(cfg: ModelConfig, in_channels: int, classes: int) -> nn.Module:
    if not is_classifier(cfg.encoder):
        raise IncompatibleModelError(
            f"model.encoder {cfg.encoder!r} is not a timm model name; classification builds "
            "timm.create_model(model.encoder), e.g. resnet18, mobilenetv3_small_050, efficientnet_b0"
        )
    import timm

    weights = cfg.encoder_weights
    named = weights is not None and not is_weight_file(weights)
    try:
        with offline_hub():
            model = timm.create_model(
                cfg.encoder, pretrained=named, num_classes=classes, in_chans=in_channels
            )
    except OSError as e:
        if not named:
            raise
        raise unavailable(str(weights), cfg.encoder, e) from e
    if weights is not None and not named:
        load_weights_file(model, weights, skip_prefixes=_classifier_prefixes(model))
    place_classifier_dropout(model, cfg.dropout, cfg.dropout_rate)
    return model


def _classifier_prefixes(model: nn.Module) -> tuple[str, ...]:
    """State-dict prefixes of the classifier, re-made for our classes and so not taken from a file."""
    classifier = model.get_classifier()
    return tuple(f"{name}." for name, m in model.named_modules() if m is classifier and name)


def model_summary(model: nn.Module) -> dict[str, Any]:
    """Parameter counts and dropout layers, for logging beside a run."""
    from automl_al.models.dropout import dropout_modules

    return {
        "params": sum(p.numel() for p in model.parameters()),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "mc_dropout_layers": len(dropout_modules(model)),
        "class": type(model).__name__,
    }


__all__ = ["build_classifier", "build_model", "build_segmentation", "model_summary"]
