"""Augmentation pipelines: registry, joint image/mask geometry, float CLAHE."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from automl_al.config import DataConfig
from automl_al.data.datasets import CachedDataset
from automl_al.data.transforms import PIPELINES, FloatCLAHE, build_transforms


def test_pipelines_by_name() -> None:
    assert PIPELINES.names() == ["default", "light", "none"]
    assert build_transforms(DataConfig(augment="none")) is None
    assert build_transforms(DataConfig(augment="default"), train=False) is None
    names = [type(t).__name__ for t in build_transforms(DataConfig(augment="default")).transforms]
    assert {"Rotate", "Transpose", "GaussNoise", "OneOf", "FloatCLAHE", "RandomBrightnessContrast"} <= set(names)


@pytest.mark.parametrize("augment", ["default", "light"])
def test_pipelines_keep_shape_and_dtype(augment: str) -> None:
    t = build_transforms(DataConfig(augment=augment))
    rng = np.random.default_rng(0)
    for _ in range(10):
        out = t(image=rng.random((32, 32, 1), dtype=np.float32), mask=np.ones((32, 32), np.uint8))
        assert out["image"].shape == (32, 32, 1) and out["image"].dtype == np.float32
        assert out["mask"].shape == (32, 32) and set(np.unique(out["mask"])) <= {0, 1}


def test_mask_follows_image_under_flip(tmp_path) -> None:
    image = np.zeros((1, 1, 8, 8), np.float32)
    image[0, 0, 2:5, 0:3] = 1.0  # asymmetric: a bright block on the left
    mask = (image[:, 0] > 0).astype(np.uint8)
    np.save(tmp_path / "images.npy", image)
    np.save(tmp_path / "targets.npy", mask)
    ds = CachedDataset(tmp_path / "images.npy", tmp_path / "targets.npy", [0],
                       transform=A.Compose([A.HorizontalFlip(p=1.0)]))
    x, y = ds[0]
    assert x[0, 2:5, 5:8].eq(1).all() and x[0, :, :5].eq(0).all()  # moved to the right
    np.testing.assert_array_equal(y.numpy(), (x[0].numpy() > 0).astype(np.int64))


def test_float_clahe_keeps_range_and_changes_contrast() -> None:
    rng = np.random.default_rng(1)
    image = (rng.random((32, 32, 1)) * 0.2 + 0.4).astype(np.float32)  # low contrast in [0.4, 0.6]
    out = FloatCLAHE(clip_limit=4.0, p=1.0)(image=image)["image"]
    assert out.dtype == np.float32 and out.shape == image.shape
    assert out.min() >= image.min() - 1e-6 and out.max() <= image.max() + 1e-6
    assert not np.allclose(out, image, atol=1e-3)
    flat = np.full((8, 8, 1), 0.3, np.float32)
    np.testing.assert_array_equal(FloatCLAHE(p=1.0)(image=flat)["image"], flat)


def test_seeded_pipelines_repeat_and_differ_across_seeds() -> None:
    image = np.random.default_rng(1).random((32, 32, 1), dtype=np.float32)
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        t = build_transforms(DataConfig(augment="default"), seed=seed)
        runs[name] = np.stack([t(image=image)["image"] for _ in range(5)])
    np.testing.assert_array_equal(runs["a"], runs["b"])  # same seed, same augmented sequence
    assert not np.array_equal(runs["a"], runs["c"])


def test_pair_augment_moves_a_tensor_mask_with_its_image() -> None:
    import torch

    from automl_al.data.transforms import PairAugment, pair_augment

    assert pair_augment(DataConfig(augment="none"), seed=0) is None
    image = torch.zeros(1, 8, 8)
    image[0, 2:5, 0:3] = 1.0
    target = (image[0] > 0).long()
    x, y = PairAugment(A.Compose([A.HorizontalFlip(p=1.0)]))(image, target)
    assert y.dtype == torch.int64 and y.shape == (8, 8)
    torch.testing.assert_close(y, (x[0] > 0).long())  # still aligned
    assert y[2:5, 5:8].all() and not y[:, :3].any()  # and really flipped


def test_pair_augment_passes_a_class_label_through_as_a_scalar() -> None:
    import torch

    from automl_al.data.transforms import PairAugment

    x, y = PairAugment(A.Compose([A.HorizontalFlip(p=1.0)]))(torch.rand(1, 8, 8), torch.tensor(1))
    assert x.shape == (1, 8, 8) and y.shape == () and int(y) == 1  # a [1] target breaks cross-entropy
