"""Seed S2's image preprocessing and augmentation, as pure functions (chosen by name once wired).

Preprocessing (S2): crop x in [2/16, 10/16] of the width and y in [5/16, 12/16] of the height,
greyscale, resize to 160 x 200 bilinear, scale to [-1, 1]. "160 x 200" is read as height 160,
width 200: torchvision's ``Resize((160, 200))`` (S2 used torchvision 0.5) takes (height, width), and
the crop keeps 8/16 of the width and 7/16 of the height, so landscape is the smaller distortion.
Crop edges are ``fraction * size`` rounded half up. The [-1, 1] scale is the image's own min-max
(DICOM has no fixed range; S2's 8-bit pipeline had one); a flat image becomes 0.

Augmentation (S2, torchvision's RandomAffine + ColorJitter, always applied with random amounts):
rotation up to +-5 degrees, isotropic scale up to +-5 %, horizontal shear of 0-5 px, brightness and
contrast factors in [0.9, 1.1]. SEEDS.md gives the shear in pixels: the top and bottom rows move
up to 5 px relative to each other, i.e. a shear angle up to atan(5 / height). Albumentations
clips float images to [0, 1] in its colour transforms (torchvision clamps too), so the pipeline
maps [-1, 1] to [0, 1], augments there, and maps back: torchvision's ToTensor -> jitter ->
Normalize(0.5, 0.5) order. The rotation fills with black (-1), as torchvision's default fill 0.
"""

from __future__ import annotations

import math
from fractions import Fraction

import albumentations as A  # type: ignore[import-untyped]
import cv2
import numpy as np

from automl_al.data.preprocess import match_channels

S2_SIZE: tuple[int, int] = (160, 200)  # (height, width)
S2_CROP_Y: tuple[Fraction, Fraction] = (Fraction(5, 16), Fraction(12, 16))
S2_CROP_X: tuple[Fraction, Fraction] = (Fraction(2, 16), Fraction(10, 16))
S2_ROTATE_DEGREES = 5.0
S2_SCALE = 0.05
S2_SHEAR_PIXELS = 5.0
S2_JITTER = 0.1  # brightness and contrast factors in [1 - 0.1, 1 + 0.1]


def _edge(fraction: Fraction, size: int) -> int:
    """``fraction * size`` rounded half up, exactly (no float rounding at .5)."""
    return math.floor(fraction * size + Fraction(1, 2))


def crop_box(height: int, width: int) -> tuple[int, int, int, int]:
    """S2's crop of an ``height x width`` image as ``(top, bottom, left, right)``, end-exclusive."""
    top, bottom = (_edge(f, height) for f in S2_CROP_Y)
    left, right = (_edge(f, width) for f in S2_CROP_X)
    if bottom <= top or right <= left:
        raise ValueError(f"an image of {height} x {width} px is too small for S2's crop (empty crop)")
    return top, bottom, left, right


def s2_preprocess(image: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` (or ``[H, W]``) raw intensities -> ``float32 [1, 160, 200]`` in [-1, 1]:
    crop, grey (luma for RGB), bilinear resize, min-max to [-1, 1]."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[None]
    top, bottom, left, right = crop_box(*image.shape[-2:])
    grey = match_channels(image[:, top:bottom, left:right], 1)[0]
    height, width = S2_SIZE
    resized = cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR)  # cv2 takes (w, h)
    lo, hi = float(resized.min()), float(resized.max())
    scaled = 2 * (resized - lo) / (hi - lo) - 1 if hi > lo else np.zeros_like(resized)
    return scaled[None].astype(np.float32)


def s2_preprocess_mask(mask: np.ndarray) -> np.ndarray:
    """A ``[H, W]`` class-index mask through the same crop and resize (nearest neighbour)."""
    top, bottom, left, right = crop_box(*mask.shape)
    height, width = S2_SIZE
    cropped = np.ascontiguousarray(mask[top:bottom, left:right]).astype(np.uint8)
    return cv2.resize(cropped, (width, height), interpolation=cv2.INTER_NEAREST).astype(mask.dtype)


def s2_shear_degrees(height: int = S2_SIZE[0], pixels: float = S2_SHEAR_PIXELS) -> float:
    """The shear angle that moves the bottom row ``pixels`` px sideways relative to the top one."""
    return math.degrees(math.atan(pixels / height))


def s2_augmentation(height: int = S2_SIZE[0]) -> list[A.BasicTransform]:
    """S2's training augmentation for ``[-1, 1]`` float images ``height`` px tall (channels last, as
    albumentations takes them; masks follow the affine with nearest neighbour). A list, like the
    entries of ``data.transforms.PIPELINES``; wrap it in ``A.Compose(..., seed=...)``."""
    jitter = (1 - S2_JITTER, 1 + S2_JITTER)
    return [
        A.Normalize(mean=-1.0, std=2.0, max_pixel_value=1.0),  # [-1, 1] -> [0, 1]
        A.Affine(
            rotate=(-S2_ROTATE_DEGREES, S2_ROTATE_DEGREES),
            scale=(1 - S2_SCALE, 1 + S2_SCALE),
            keep_ratio=True,
            shear={"x": (0.0, s2_shear_degrees(height)), "y": (0.0, 0.0)},
            interpolation=cv2.INTER_LINEAR,
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            p=1.0,
        ),
        A.ColorJitter(brightness=jitter, contrast=jitter, saturation=(1.0, 1.0), hue=(0.0, 0.0), p=1.0),
        A.Normalize(mean=0.5, std=0.5, max_pixel_value=1.0),  # [0, 1] -> [-1, 1]
    ]


__all__ = [
    "S2_CROP_X",
    "S2_CROP_Y",
    "S2_SIZE",
    "crop_box",
    "s2_augmentation",
    "s2_preprocess",
    "s2_preprocess_mask",
    "s2_shear_degrees",
]
