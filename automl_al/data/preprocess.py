"""Turn one record's raw image and mask into the fixed-size arrays the cache stores.

Why one place: every source yields raw intensities of any size and channel count; the model
needs ``[in_channels, H, W]`` at ``data.image_size``, normalised per image. Masks follow the
image geometry exactly (nearest neighbour, same pad/crop), so they stay aligned.
"""

from __future__ import annotations

import cv2
import numpy as np

from automl_al.config import DataConfig

RGB_TO_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma


def match_channels(image: np.ndarray, in_channels: int) -> np.ndarray:
    """Repeat a grey image up to ``in_channels``; convert RGB(A) to grey when ``in_channels == 1``.

    Raises ValueError (the caller names the file) for channel counts that have no safe mapping.
    """
    c = image.shape[0]
    if c == in_channels:
        return image
    if c == 1:
        return np.repeat(image, in_channels, axis=0)
    if in_channels == 1 and c in (3, 4):  # RGB or RGBA: drop alpha, luma
        return np.tensordot(RGB_TO_GREY, image[:3], axes=1)[None].astype(np.float32)
    if in_channels == 3 and c == 4:
        return image[:3]
    raise ValueError(f"has {c} channels, which cannot be mapped to data.in_channels={in_channels}")


def _pad_crop(a: np.ndarray, size: tuple[int, int], fill: float) -> np.ndarray:
    """Pad (with ``fill``) then centre-crop the last two axes to ``size``."""
    h, w = a.shape[-2:]
    th, tw = size
    ph, pw = max(th - h, 0), max(tw - w, 0)
    if ph or pw:
        pad = [(0, 0)] * (a.ndim - 2) + [(ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)]
        a = np.pad(a, pad, constant_values=fill)
        h, w = a.shape[-2:]
    top, left = (h - th) // 2, (w - tw) // 2
    return a[..., top : top + th, left : left + tw]


def _resize(a: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """cv2 resize of a [H, W] plane (cv2 takes (width, height))."""
    return cv2.resize(a, (size[1], size[0]), interpolation=interpolation)


def fit_image(image: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """[C, H, W] raw -> [C, *image_size]: bilinear resize, or pad with the image minimum + crop."""
    size = tuple(cfg.image_size)
    if image.shape[-2:] == size:
        return image
    if cfg.resize == "pad":
        return _pad_crop(image, size, float(image.min()))
    return np.stack([_resize(plane, size, cv2.INTER_LINEAR) for plane in image]).astype(np.float32)


def fit_mask(mask: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """[H, W] class indices -> image_size with the same geometry as :func:`fit_image` (nearest)."""
    size = tuple(cfg.image_size)
    if mask.shape == size:
        return mask
    if cfg.resize == "pad":
        return _pad_crop(mask, size, 0)
    return _resize(mask.astype(np.uint8), size, cv2.INTER_NEAREST).astype(mask.dtype)


def normalize(image: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """Clip to the image's own percentiles, then z-score or min-max to [0, 1]; flat images -> 0."""
    lo, hi = np.percentile(image, cfg.clip_percentiles)
    x = np.clip(image, lo, hi)
    if cfg.normalize == "minmax":
        span = hi - lo
        out = (x - lo) / span if span > 0 else np.zeros_like(x)
    else:
        std = x.std()
        out = (x - x.mean()) / std if std > 0 else np.zeros_like(x)
    return out.astype(np.float32)


def prepare_image(image: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """The whole image path: channels, geometry, normalisation."""
    return normalize(fit_image(match_channels(image, cfg.in_channels), cfg), cfg)
