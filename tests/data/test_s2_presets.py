"""S2's preprocessing (crop, grey, 160 x 200, [-1, 1]) and augmentation presets."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest

from automl_al.data.presets import (
    S2_SIZE,
    crop_box,
    s2_augmentation,
    s2_preprocess,
    s2_preprocess_mask,
    s2_shear_degrees,
)
from automl_al.data.readers.dicom import read_dicom


def test_crop_box_fractions() -> None:
    # 256 x 256: y 5/16*256 = 80 .. 12/16*256 = 192, x 2/16*256 = 32 .. 10/16*256 = 160
    assert crop_box(256, 256) == (80, 192, 32, 160)
    # 174 x 208: y 54.375 -> 54, 130.5 -> 131 (half up); x 26 .. 130
    assert crop_box(174, 208) == (54, 131, 26, 130)
    with pytest.raises(ValueError, match="too small for S2's crop"):
        crop_box(0, 0)


def test_preprocess_real_dicom(shared_data: Path) -> None:
    (frame,) = read_dicom(shared_data / "sunnybrook_lv" / "images" / "SCD0000101_0048.dcm")
    out = s2_preprocess(frame.image)
    assert out.shape == (1, *S2_SIZE) == (1, 160, 200) and out.dtype == np.float32
    assert out.min() == -1.0 and out.max() == 1.0
    crop = frame.image[0, 80:192, 32:160]  # 256 x 256 Sunnybrook frame: the box worked out above
    resized = cv2.resize(crop, (200, 160), interpolation=cv2.INTER_LINEAR)
    expected = 2 * (resized - resized.min()) / (resized.max() - resized.min()) - 1
    assert np.allclose(out[0], expected, atol=1e-6)


def test_preprocess_orientation_height_160_width_200() -> None:
    """A block over the top-left quarter of the crop lands in the top-left quarter of the output."""
    image = np.zeros((1, 256, 256), dtype=np.float32)
    image[0, 80:136, 32:96] = 1.0  # crop rows 80..192 (112), cols 32..160 (128): top-left quarter
    out = s2_preprocess(image)[0]
    assert out.shape == (160, 200)
    assert np.all(out[:78, :98] == 1.0) and np.all(out[82:, :] == -1.0) and np.all(out[:, 102:] == -1.0)
    mask = (image[0] > 0).astype(np.int64)
    assert np.array_equal(s2_preprocess_mask(mask), (out > 0).astype(np.int64))


def test_preprocess_rgb_is_grey_and_flat_is_zero() -> None:
    rng = np.random.default_rng(0)
    grey = rng.random((1, 64, 64)).astype(np.float32)
    rgb = np.repeat(grey, 3, axis=0)
    assert np.allclose(s2_preprocess(rgb), s2_preprocess(grey), atol=1e-5)
    assert np.array_equal(s2_preprocess(grey[0]), s2_preprocess(grey))  # [H, W] accepted
    assert np.all(s2_preprocess(np.full((1, 64, 64), 7.0, dtype=np.float32)) == 0.0)


def test_augmentation_parameters_are_s2s() -> None:
    normalize_in, affine, jitter, normalize_out = s2_augmentation()
    assert isinstance(affine, A.Affine) and isinstance(jitter, A.ColorJitter)
    assert affine.rotate == (-5.0, 5.0) and affine.scale == {"x": (0.95, 1.05), "y": (0.95, 1.05)}
    assert affine.keep_ratio  # one scale factor for both axes, as torchvision's RandomAffine
    # 5 px over a 160 px tall image: atan(5 / 160) = 0.0312398 rad = 1.78991 degrees
    assert affine.shear["x"] == pytest.approx((0.0, 1.78991), abs=1e-5) and affine.shear["y"] == (0.0, 0.0)
    assert s2_shear_degrees(100) == pytest.approx(2.86241, abs=1e-5)  # atan(5/100) in degrees
    assert jitter.brightness == pytest.approx((0.9, 1.1)) and jitter.contrast == pytest.approx((0.9, 1.1))
    assert isinstance(normalize_in, A.Normalize) and isinstance(normalize_out, A.Normalize)


def test_augmentation_keeps_range_shape_and_is_seeded() -> None:
    image = np.linspace(-1, 1, 160 * 200, dtype=np.float32).reshape(160, 200, 1)
    mask = np.zeros((160, 200), dtype=np.int64)
    mask[60:100, 80:120] = 1
    runs = [A.Compose(s2_augmentation(), seed=s)(image=image, mask=mask) for s in (1, 1, 2)]
    assert np.array_equal(runs[0]["image"], runs[1]["image"]) and not np.array_equal(runs[0]["image"], runs[2]["image"])
    for out in runs:
        assert out["image"].shape == (160, 200, 1) and out["image"].dtype == np.float32
        assert out["image"].min() >= -1.0 - 1e-6 and out["image"].max() <= 1.0 + 1e-6
        assert set(np.unique(out["mask"]).tolist()) == {0, 1}


def test_brightness_and_contrast_move_a_grey_level_by_at_most_ten_percent() -> None:
    """Constant 0.2 in [-1, 1] is 0.6 in [0, 1]; contrast leaves a flat image alone and brightness
    multiplies by [0.9, 1.1], so the centre ends in [2 * 0.54 - 1, 2 * 0.66 - 1] = [0.08, 0.32]."""
    image = np.full((160, 200, 1), 0.2, dtype=np.float32)
    centres = [float(A.Compose(s2_augmentation(), seed=s)(image=image)["image"][80, 100, 0]) for s in range(30)]
    assert min(centres) >= 0.08 - 1e-5 and max(centres) <= 0.32 + 1e-5
    assert max(centres) - min(centres) > 0.1  # it does jitter
