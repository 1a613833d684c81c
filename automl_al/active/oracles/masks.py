"""PNG in and out for the human oracle: images windowed to uint8, masks read and validated."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from automl_al.errors import AutomlAlError
from automl_al.utils import atomic_write_bytes

BINARY_FOREGROUND = 255  # a 0/255 mask is read as classes 0/1


class MaskError(AutomlAlError, ValueError):
    """A mask file cannot be used; the message says what is wrong and how to fix it."""


def window_to_uint8(image: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` float -> uint8 ``[H, W]`` (first channel) or ``[H, W, 3]`` (C == 3), stretched
    between the 0.5 and 99.5 percentiles so the image is viewable whatever its intensity range."""
    pixels = np.moveaxis(image[:3], 0, -1) if image.shape[0] == 3 else image[0]
    low, high = np.percentile(pixels, [0.5, 99.5])
    scaled = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _grey(pixels: np.ndarray) -> np.ndarray:
    """An RGB(A) mask whose colour channels agree is read as one channel; others are errors."""
    if pixels.ndim == 2:
        return pixels
    colour = pixels[..., :3]
    if not (np.array_equal(colour[..., 0], colour[..., 1]) and np.array_equal(colour[..., 0], colour[..., 2])):
        raise MaskError("is a colour image; save the mask as greyscale (one channel) with class values")
    return colour[..., 0]


def read_mask(path: Path, shape: tuple[int, int], classes: int) -> np.ndarray:
    """The mask at ``path`` as int64 class indices ``[H, W]``; raises :class:`MaskError` when its
    size is not ``shape`` or it holds values other than 0..classes-1 (or 0/255 when binary)."""
    try:
        with Image.open(path) as img:
            pixels = np.asarray(img)
    except (UnidentifiedImageError, OSError) as e:
        raise MaskError(f"is not a readable PNG ({e})") from None
    pixels = _grey(pixels)
    if pixels.shape != tuple(shape):
        raise MaskError(
            f"has shape {pixels.shape[0]}x{pixels.shape[1]} but the query image is {shape[0]}x{shape[1]}; "
            "draw the mask on the query PNG itself, without resizing"
        )
    values = np.unique(pixels)
    if classes == 2 and set(values.tolist()) <= {0, BINARY_FOREGROUND}:
        return (pixels == BINARY_FOREGROUND).astype(np.int64)
    bad = values[(values < 0) | (values >= classes)]
    if bad.size:
        allowed = "0/1 or 0/255" if classes == 2 else f"0..{classes - 1}"
        raise MaskError(f"holds values {bad[:5].tolist()} outside the classes; use {allowed}")
    return pixels.astype(np.int64)
