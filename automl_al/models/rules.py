"""Which (decoder, encoder, depth, image size) combinations build, decided before anything is built.

A search samples hundreds of architectures; a pair that smp rejects (or that builds but crashes on
the first batch) must be known from the names alone, so that the search space can leave it out and a
config error names the fix. The rules restate constraints found in smp 0.6's source and checked by
``tests/models/test_rules_contract.py`` (every pair of a representative encoder set builds exactly
when the rules allow it):

- ``mit_b*`` (SegFormer's Mix Transformer) is refused by UnetPlusPlus and Linknet; FPN takes it, and
  any timm encoder whose first feature map is at stride 4 (ConvNeXt, Swin, ...), only at depth 5.
- smp's timm wrapper accepts only feature strides (2, 4, .., 32), (4, .., 32) or (1, 2, .., 32); the
  strides of a ``tu-`` encoder are read from timm on the meta device (no memory, no weights), the
  same probe smp makes.
- DeepLabV3 (output stride 8), DeepLabV3Plus and PAN (16) dilate the encoder's last stages; encoders
  that downsample by pooling (VGG, DenseNet, Xception, Inception, DPN and some timm families) cannot.
- smp checks that the image size is a multiple of the encoder's output stride; we ask for a multiple
  of 2 ** depth for every decoder (Unet tolerates less but its skip connections then get resized).
- PAN's feature-pyramid attention halves the deepest feature map three times: it needs that map to
  be at least 8 pixels wide.
- Deprecated ``timm-`` encoder names are refused in favour of timm's universal ``tu-`` prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from automl_al.errors import AutomlAlError
from automl_al.registries import DECODERS

MitPolicy = Literal["any", "never"]


class IncompatibleModelError(AutomlAlError, ValueError):
    """An (architecture, encoder, depth, image size) combination that cannot build or run."""


@dataclass(frozen=True)
class DecoderSpec:
    """What the factory and the rules need to know about one smp decoder."""

    name: str
    # Encoder output stride the decoder asks for (< 32: the encoder must support dilation).
    output_stride: int = 32
    mit: MitPolicy = "any"
    # Encoders whose first feature is at stride 4 (no stride-2 map) work only at encoder depth 5.
    stride4_depth5_only: bool = False
    # Extra smp kwargs per encoder depth so that the logits come out at the input resolution.
    kwargs: Callable[[int], dict[str, Any]] = field(default=lambda depth: {})
    # Smallest side (pixels) of the deepest feature map the decoder can process.
    min_deepest_side: int = 1


def _decoder_channels(depth: int) -> dict[str, Any]:
    """Unet-style decoders need one channel count per block: smp's defaults, deepest ones dropped."""
    return {"decoder_channels": (256, 128, 64, 32, 16)[5 - depth :]}


for _spec in (
    DecoderSpec("Unet", kwargs=_decoder_channels),
    DecoderSpec("UnetPlusPlus", mit="never", kwargs=_decoder_channels),
    DecoderSpec("MAnet", kwargs=_decoder_channels),
    DecoderSpec("Linknet", mit="never"),
    # FPN merges at stride 4 of a depth-5 encoder; shallower encoders end nearer the input.
    DecoderSpec("FPN", stride4_depth5_only=True, kwargs=lambda depth: {"upsampling": 2 ** (depth - 3)}),
    DecoderSpec("PSPNet", kwargs=lambda depth: {"upsampling": 2**depth}),
    DecoderSpec("DeepLabV3", output_stride=8),
    DecoderSpec("DeepLabV3Plus", output_stride=16),
    DecoderSpec("PAN", output_stride=16, min_deepest_side=8),
    DecoderSpec("UPerNet"),
    DecoderSpec("Segformer"),
):
    DECODERS.register(_spec.name, _spec)

# Encoders whose downsampling cannot be turned into dilation (smp raises, or timm has no output_stride).
_NO_DILATION_PREFIXES = (
    "vgg",
    "densenet",
    "xception",
    "inceptionv4",
    "inceptionresnetv2",
    "tu-vgg",
    "tu-densenet",
    "tu-dpn",
    "tu-ghostnet",
    "tu-efficientvit",
    "tu-xception",
    "tu-inception",
)


def list_decoders() -> list[str]:
    """The smp decoder names ``model.arch`` accepts."""
    return DECODERS.names()


def list_encoders() -> list[str]:
    """smp's own encoder names (any timm model also works as ``tu-<name>``); imports smp (~4 s)."""
    import segmentation_models_pytorch as smp

    return sorted(n for n in smp.encoders.get_encoder_names() if not n.startswith("timm-"))


def supports_dilation(encoder: str) -> bool:
    return not encoder.startswith(_NO_DILATION_PREFIXES)


def is_classifier(encoder: str) -> bool:
    """True when ``encoder`` is a timm model name (classification builds ``timm.create_model``)."""
    import timm

    return timm.is_model(encoder.split(".")[0])


@lru_cache(maxsize=None)
def timm_reductions(name: str) -> tuple[int, ...]:
    """Feature strides of timm model ``name``, from a meta-device instance (as smp probes them)."""
    import timm
    import torch

    with torch.device("meta"):
        return tuple(timm.create_model(name, features_only=True).feature_info.reduction())


_SMP_TIMM_STRIDES = ((2, 4, 8, 16, 32), (4, 8, 16, 32), (1, 2, 4, 8, 16, 32))


def _first_stride(encoder: str) -> int:
    if encoder.startswith("mit_b"):
        return 4
    return timm_reductions(encoder[3:].split(".")[0])[0] if encoder.startswith("tu-") else 2


def _check_encoder_name(encoder: str) -> None:
    if encoder.startswith("timm-"):
        raise IncompatibleModelError(
            f"encoder {encoder!r} uses smp's deprecated 'timm-' prefix (model.encoder); "
            f"write timm's universal prefix instead, e.g. 'tu-{encoder[5:]}'"
        )
    if encoder.startswith("tu-"):
        if not is_classifier(encoder[3:]):
            raise IncompatibleModelError(
                f"encoder {encoder!r} (model.encoder): timm has no model {encoder[3:]!r}; "
                "see timm.list_models() for valid names"
            )
        try:
            strides = timm_reductions(encoder[3:].split(".")[0])
        except Exception as e:  # timm cannot make a feature extractor of it at all
            raise IncompatibleModelError(
                f"encoder {encoder!r}: timm cannot extract features from it ({type(e).__name__}: {e})"
            ) from e
        if strides not in _SMP_TIMM_STRIDES:
            raise IncompatibleModelError(
                f"encoder {encoder!r}: feature strides {list(strides)}; smp supports only "
                f"{[list(s) for s in _SMP_TIMM_STRIDES]}; pick another timm model"
            )
        return
    import segmentation_models_pytorch as smp

    if encoder not in smp.encoders.encoders:
        raise IncompatibleModelError(
            f"unknown encoder {encoder!r} (model.encoder); pick one of rules.list_encoders() "
            "or a timm model as 'tu-<timm name>'"
        )


def check_compatible(
    arch: str, encoder: str, encoder_depth: int = 5, image_size: int | tuple[int, int] | None = None
) -> None:
    """Raise :class:`IncompatibleModelError` (which pair, why, what instead) unless it can build and run."""
    try:
        spec = DECODERS.get(arch)
    except KeyError as e:
        raise IncompatibleModelError(str(e)) from None
    pair = f"{arch} + {encoder} (encoder_depth {encoder_depth})"
    if not 3 <= encoder_depth <= 5:
        raise IncompatibleModelError(f"{pair}: model.encoder_depth must be 3, 4 or 5")
    _check_encoder_name(encoder)
    if encoder.startswith("mit_b") and spec.mit == "never":
        allowed = [n for n in DECODERS.names() if DECODERS.get(n).mit != "never"]
        raise IncompatibleModelError(
            f"{pair}: smp's {arch} does not accept Mix Transformer encoders; "
            f"pick another decoder ({', '.join(allowed)}) or a CNN encoder"
        )
    if spec.stride4_depth5_only and encoder_depth != 5 and _first_stride(encoder) == 4:
        raise IncompatibleModelError(
            f"{pair}: {encoder}'s first feature map is at stride 4 and {arch} takes such encoders "
            "only at encoder_depth 5; set model.encoder_depth: 5 or pick another decoder"
        )
    if spec.output_stride < 32 and not supports_dilation(encoder):
        dilated = [n for n in DECODERS.names() if DECODERS.get(n).output_stride < 32]
        raise IncompatibleModelError(
            f"{pair}: {arch} dilates the encoder (output stride {spec.output_stride}) and {encoder} "
            f"downsamples by pooling, which cannot be dilated; pick a decoder other than "
            f"{', '.join(dilated)} or an encoder such as resnet34 / efficientnet-b0"
        )
    if image_size is not None:
        _check_size(pair, spec, encoder_depth, image_size)


def _check_size(pair: str, spec: DecoderSpec, depth: int, image_size: int | tuple[int, int]) -> None:
    sides = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    multiple = 2**depth
    if any(s % multiple for s in sides):
        raise IncompatibleModelError(
            f"{pair}: data.image_size {list(sides)} must be a multiple of 2 ** encoder_depth = {multiple}; "
            f"resize to e.g. {[max(multiple, s // multiple * multiple) for s in sides]}"
        )
    stride = min(multiple, spec.output_stride)
    smallest = min(sides) // stride
    if smallest < spec.min_deepest_side:
        need = spec.min_deepest_side * stride
        raise IncompatibleModelError(
            f"{pair}: the deepest feature map would be {smallest} px and {spec.name} needs at least "
            f"{spec.min_deepest_side}; use data.image_size >= {need} or a smaller encoder_depth"
        )


def is_compatible(
    arch: str, encoder: str, encoder_depth: int = 5, image_size: int | tuple[int, int] | None = None
) -> bool:
    try:
        check_compatible(arch, encoder, encoder_depth=encoder_depth, image_size=image_size)
    except IncompatibleModelError:
        return False
    return True


__all__ = [
    "DECODERS",
    "DecoderSpec",
    "IncompatibleModelError",
    "check_compatible",
    "is_classifier",
    "is_compatible",
    "list_decoders",
    "list_encoders",
    "supports_dilation",
]
