"""Training augmentations (albumentations), chosen by ``data.augment``; evaluation uses none.

``default`` is the S1 list (docs: SEEDS.md): rotation, flip, transpose, Gaussian noise (p 0.2),
motion/median/plain blur, optical and grid distortion, piecewise affine, CLAHE and random
brightness/contrast. Piecewise affine is replaced by ``ElasticTransform``, the same kind of local
non-rigid warp: albumentations 2.x still ships ``PiecewiseAffine`` but warns that it is at least
10x slower, which matters on CPU training. Images in the cache are float32, normalised per image; CLAHE only works on
uint8, so :class:`FloatCLAHE` maps the image to uint8 over its own range, equalises, and maps back.
Masks go through the same geometric transforms (nearest neighbour), so they stay aligned.
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch

from automl_al.config import DataConfig
from automl_al.registries import PIPELINES


class FloatCLAHE(A.ImageOnlyTransform):
    """CLAHE on a float image: scale to uint8 over the image's own range, equalise, scale back."""

    def __init__(self, clip_limit: float = 2.0, tile_grid_size: tuple[int, int] = (8, 8), p: float = 0.5) -> None:
        super().__init__(p=p)
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        lo, hi = float(img.min()), float(img.max())
        if hi <= lo:
            return img
        clahe = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=self.tile_grid_size)
        u8 = np.round((img - lo) / (hi - lo) * 255).astype(np.uint8)
        planes = [clahe.apply(u8[..., c]) for c in range(u8.shape[-1])] if u8.ndim == 3 else [clahe.apply(u8)]
        out = np.stack(planes, axis=-1) if u8.ndim == 3 else planes[0]
        return (out.astype(np.float32) / 255 * (hi - lo) + lo).astype(img.dtype)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("clip_limit", "tile_grid_size")


@PIPELINES.register("default")
def _default() -> list[A.BasicTransform]:
    return [
        A.Rotate(limit=30, border_mode=cv2.BORDER_CONSTANT, p=0.5),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.Transpose(p=0.5),
        A.GaussNoise(std_range=(0.02, 0.08), p=0.2),
        A.OneOf([A.MotionBlur(blur_limit=3), A.MedianBlur(blur_limit=3), A.Blur(blur_limit=3)], p=0.2),
        A.OneOf(
            [
                A.OpticalDistortion(distort_limit=0.3),
                A.GridDistortion(num_steps=5, distort_limit=0.2),
                A.ElasticTransform(alpha=20, sigma=5),
            ],
            p=0.2,
        ),
        FloatCLAHE(p=0.1),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ]


@PIPELINES.register("light")
def _light() -> list[A.BasicTransform]:
    return [
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.Rotate(limit=10, border_mode=cv2.BORDER_CONSTANT, p=0.5),
        A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.1, p=0.5),
    ]


@PIPELINES.register("none")
def _none() -> list[A.BasicTransform]:
    return []


def build_transforms(cfg: DataConfig, train: bool = True, seed: int | None = None) -> A.Compose | None:
    """The ``data.augment`` pipeline for training; ``None`` for evaluation or ``augment: none``.

    ``seed`` fixes albumentations' own random state (it ignores numpy's and Python's global seeds),
    so the same config and seed give the same augmented batches and the same trained model.
    """
    steps = PIPELINES.get(cfg.augment)() if train else []
    return A.Compose(steps, seed=seed) if steps else None


def augment_arrays(
    transform: A.Compose, image: np.ndarray, target: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``image [C, H, W]`` (and a ``[H, W]`` mask target, transformed jointly) through ``transform``;
    albumentations works channels-last, class targets pass through unchanged."""
    kwargs: dict[str, Any] = {"image": np.moveaxis(image, 0, -1)}
    is_mask = target is not None and target.ndim == 2
    if is_mask:
        kwargs["mask"] = target
    out = transform(**kwargs)
    img = out["image"]
    img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
    return np.ascontiguousarray(img, dtype=np.float32), out["mask"] if is_mask else target


class PairAugment:
    """The training augmentation as a callable on tensors ``(image [C, H, W], target)``: for
    datasets whose targets live outside the cache (the active-learning label store)."""

    def __init__(self, transform: A.Compose) -> None:
        self.transform = transform

    def __call__(self, image: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img, tgt = augment_arrays(self.transform, image.numpy(), target.numpy())
        # flips leave negative strides that torch refuses; ascontiguousarray alone turns a 0-d class into [1]
        return torch.from_numpy(img), torch.as_tensor(np.ascontiguousarray(tgt).reshape(tgt.shape), dtype=torch.int64)


def pair_augment(cfg: DataConfig, seed: int | None) -> PairAugment | None:
    """:class:`PairAugment` for ``data.augment``, or ``None`` when it is ``none``."""
    transform = build_transforms(cfg, train=True, seed=seed)
    return PairAugment(transform) if transform is not None else None
