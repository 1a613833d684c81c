"""Explicit dropout modules for the MC-dropout twin of a model.

timm's ``drop_rate`` and smp's ``aspp_dropout`` call ``F.dropout`` or live where we cannot choose
them; MC sampling needs real ``nn.Dropout`` modules that it can switch to train mode on their own.
Each inserted module is a child named ``mc_dropout`` of the module it follows or precedes, applied by
a forward hook: the parameter names (and so checkpoints) are the same as without dropout, and
:mod:`automl_al.models.mc` finds the placement by looking for those children.

Placements (``model.dropout`` and the twin's ``active.dropout``), registered in ``DROPOUTS``:
- ``none``: nothing (not a placement for the MC twin: it inserts no dropout).
- ``head``: before the segmentation head (``nn.Dropout2d``) or the classifier (``nn.Dropout``).
- ``decoder``: after every convolution of the smp decoder (the paper's "after every decoder
  convolution"), which works the same way for all eleven decoders. Refused for classification,
  which has no decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from automl_al.errors import AutomlAlError
from automl_al.registries import DROPOUTS

Placement = str  # a name registered in DROPOUTS
DROPOUT_NAME = "mc_dropout"
Place = Callable[[nn.Module, float], None]  # (model, rate) -> None: inserts the dropout modules


class DropoutPlacementError(AutomlAlError, ValueError):
    """A dropout placement the model cannot take."""


def _dropout_before(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (getattr(module, DROPOUT_NAME)(args[0]), *args[1:])


def _dropout_after(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> Tensor:
    return getattr(module, DROPOUT_NAME)(output)


def add_dropout_before(module: nn.Module, dropout: nn.Module) -> None:
    """Apply ``dropout`` to the first input of ``module`` (hooks are module-level functions so that
    ``copy.deepcopy`` keeps each copy pointing at its own dropout).

    An ``nn.Sequential`` (smp's segmentation head) calls every child, so a dropout child there would
    also run after its last layer; the dropout goes to the Sequential's first layer instead."""
    while isinstance(module, nn.Sequential) and len(module):
        module = module[0]
    module.add_module(DROPOUT_NAME, dropout)
    module.register_forward_pre_hook(_dropout_before)


def add_dropout_after(module: nn.Module, dropout: nn.Module) -> None:
    """Apply ``dropout`` to the output of ``module`` (of a Sequential's last layer: see above)."""
    while isinstance(module, nn.Sequential) and len(module):
        module = module[-1]
    module.add_module(DROPOUT_NAME, dropout)
    module.register_forward_hook(_dropout_after)


@dataclass(frozen=True)
class DropoutPlacement:
    """Where one placement puts dropout in a segmentation model and in a classifier; ``classifier``
    None: a classifier cannot take it (``why`` says what to use instead)."""

    segmentation: Place
    classifier: Place | None
    inserts: bool = True  # False for "none": such a placement cannot make an MC twin
    why: str = ""


def _nothing(model: nn.Module, rate: float) -> None:
    """``none``: the model stays as built."""


def _before_segmentation_head(model: nn.Module, rate: float) -> None:
    add_dropout_before(model.segmentation_head, nn.Dropout2d(rate))


def _after_decoder_convs(model: nn.Module, rate: float) -> None:
    convs = [m for m in model.decoder.modules() if isinstance(m, nn.Conv2d)]
    for conv in convs:
        add_dropout_after(conv, nn.Dropout2d(rate))


def _before_classifier(model: nn.Module, rate: float) -> None:
    classifier = model.get_classifier()
    if not isinstance(classifier, nn.Module) or isinstance(classifier, nn.Identity):
        raise DropoutPlacementError(f"{type(model).__name__} has no classifier module to put dropout before")
    add_dropout_before(classifier, nn.Dropout(rate))


DROPOUTS.register("none", DropoutPlacement(_nothing, _nothing, inserts=False))
DROPOUTS.register("head", DropoutPlacement(_before_segmentation_head, _before_classifier))
DROPOUTS.register(
    "decoder",
    DropoutPlacement(
        _after_decoder_convs, None, why="needs a segmentation decoder; a classifier has none: use model.dropout: head "
        "(dropout before the classifier)",
    ),
)


def place_segmentation_dropout(model: nn.Module, placement: Placement, rate: float) -> None:
    """Insert ``nn.Dropout2d(rate)`` into an smp model at ``placement`` (``none``: nothing)."""
    entry = DROPOUTS.get(placement)
    if entry.inserts:
        _check_rate(rate)
    entry.segmentation(model, rate)


def place_classifier_dropout(model: nn.Module, placement: Placement, rate: float) -> None:
    """Insert ``nn.Dropout(rate)`` before a timm model's classifier; ``decoder`` is refused."""
    entry = DROPOUTS.get(placement)
    if entry.classifier is None:
        raise DropoutPlacementError(f"model.dropout {placement!r} {entry.why}")
    if entry.inserts:
        _check_rate(rate)
    entry.classifier(model, rate)


def _check_rate(rate: float) -> None:
    if not 0.0 < rate < 1.0:
        raise DropoutPlacementError(
            f"model.dropout_rate must be in (0, 1) when model.dropout is head or decoder, got {rate}"
        )


def dropout_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Inserted dropout modules by the qualified name of the module they belong to."""
    suffix = "." + DROPOUT_NAME
    return {
        name[: -len(suffix)]: module
        for name, module in model.named_modules()
        if name.endswith(suffix) or name == DROPOUT_NAME
    }


__all__ = [
    "DropoutPlacement",
    "DropoutPlacementError",
    "Placement",
    "add_dropout_after",
    "add_dropout_before",
    "dropout_modules",
    "place_classifier_dropout",
    "place_segmentation_dropout",
]
